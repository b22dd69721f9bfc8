// Package ivr is hotline's flow language: it loads flow files (YAML), checks them against the
// configuration with every error at its file:line:col, and runs them on a call.Channel. It
// hands calls to queues, voicemail, callbacks and customer records through small service
// interfaces, and must not know which telephone driver, ACD or store is behind them.
//
// # Loading
//
// Compile parses and checks a group of flow files together (a goto from one to another must
// land in the same version). Every problem is reported at once, as Diagnostics sorted by
// file and position. Library serves the current version of a directory and reloads it when
// files change: a clean edit becomes the version new calls get, a broken one is refused and
// logged, and calls in progress finish on the version (the Set) they started with.
//
// Expressions (set, branch, switch, priority, ${...} in text) are expr-lang expressions,
// compiled and type-checked when the flow loads against the variables the flow can see:
// built-ins (caller, dialed, language, digits, customer.*, ticket ...), variables declared
// under vars:, and those set by set, input, survey and webhook steps.
//
// # Running
//
// Runner.Run answers the call and walks the flow node by node, returning a Result with the
// outcome and the path. Every node the call passes becomes an Event (node, step, exit,
// timing, variables set) given to the Observer and counted by Metrics. Values from input
// steps marked sensitive, and everything computed from them, never reach an event, a log,
// a record or the say cache: they show as [redacted].
//
// The language itself is documented in docs/flows.md; the shipped flows are in package flows.
package ivr
