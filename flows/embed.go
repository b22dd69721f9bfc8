// Package flows holds the shipped IVR flows, their tests and their JSON Schema, embedded in
// the binary so `hotline serve` runs them with no files at all. It is data, not code: the
// language is implemented by package ivr and described in docs/flows.md.
package flows

import "embed"

// FS holds hotline.yaml, after-hours.yaml, survey.yaml at its root, the flow tests under
// tests/, and flow.schema.json.
//
//go:embed *.yaml tests/*.yaml flow.schema.json
var FS embed.FS
