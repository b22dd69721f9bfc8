package flows_test

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"sort"
	"strings"
	"testing"

	"github.com/hotline-cc/hotline/center"
	"github.com/hotline-cc/hotline/flows"
	"github.com/hotline-cc/hotline/ivr"
	"github.com/hotline-cc/hotline/ivr/flowcli"
)

// catalog is what the sample configuration offers flows, read as `hotline flow` reads it.
func catalog(t *testing.T) *ivr.Catalog {
	cat, _, err := center.LoadFlowCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// Acceptance 3 without the binary: every shipped flow test passes.
func TestShippedFlowTestsPass(t *testing.T) {
	var out bytes.Buffer
	if code := flowcli.EmbeddedTests(catalog(t), true, &out); code != 0 {
		t.Fatalf("flow tests failed:\n%s", out.String())
	}
	t.Log(out.String())
	for _, flow := range []string{"hotline", "after-hours", "survey"} {
		if !strings.Contains(out.String(), "flows/tests/"+flow+".yaml:") {
			t.Errorf("flow %s has no tests", flow)
		}
	}
}

// The JSON Schema names exactly the steps the loader knows.
func TestSchemaKnowsEveryStep(t *testing.T) {
	b, err := fs.ReadFile(flows.FS, "flow.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Defs map[string]json.RawMessage `json:"$defs"`
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatalf("flow.schema.json is not JSON: %v", err)
	}
	var inSchema []string
	for k := range schema.Defs {
		if name, ok := strings.CutPrefix(k, "step_"); ok {
			inSchema = append(inSchema, name)
		}
	}
	sort.Strings(inSchema)
	if got, want := strings.Join(inSchema, ","), strings.Join(ivr.StepKinds(), ","); got != want {
		t.Errorf("schema steps %s\nloader steps %s", got, want)
	}
}
