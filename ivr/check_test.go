package ivr_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hotline-cc/hotline/flows"
	"github.com/hotline-cc/hotline/ivr"
	"github.com/hotline-cc/hotline/prompts"
	"github.com/hotline-cc/hotline/schedule"
)

// testCatalog is what the sample configuration offers, in ivr's own types: queues support,
// sales, billing, schedule office, languages en and zh, the shipped prompts, no transfer
// targets. (The tests of flows, flowcli and cmd/hotline check against the sample file itself.)
func testCatalog(t testing.TB) *ivr.Catalog {
	t.Helper()
	office, err := schedule.Schedule{
		TimeZone: "Asia/Shanghai",
		Weekly: map[string][]string{"mon": {"09:00-18:00"}, "tue": {"09:00-18:00"}, "wed": {"09:00-18:00"},
			"thu": {"09:00-18:00"}, "fri": {"09:00-18:00"}, "sat": {"10:00-16:00"}},
		Holidays: []string{"2026-10-01", "2027-01-01"},
	}.Compile()
	if err != nil {
		t.Fatal(err)
	}
	voices := map[string]string{"en": "en-us", "zh": "cmn-latn-pinyin"}
	return &ivr.Catalog{
		Queues:    []string{"support", "sales", "billing"},
		Schedules: map[string]*schedule.Hours{"office": office},
		Prompts:   prompts.New(prompts.Config{Espeak: "espeak-ng", Voices: voices}, t.TempDir()),
		Languages: []string{"en", "zh"},
	}
}

// Each file in testdata/broken plants one kind of error and says on its first line where
// the checker must report it: "# want LINE:COL message".
func TestBrokenFlowsReportTheirErrorExactly(t *testing.T) {
	kinds := []string{
		"bad-duration", "bad-expression", "bad-pattern", "bad-survey-scale", "branch-not-bool", "duplicate-node",
		"endless-loop", "missing-fallback", "missing-target", "missing-translation", "no-step",
		"sensitive-in-url", "set-type-mismatch", "transfer-not-allowed", "unknown-exit",
		"unknown-flow", "unknown-key", "unknown-language", "unknown-prompt", "unknown-queue",
		"unknown-schedule", "unknown-variable", "unreachable", "wrong-type", "yaml-syntax",
	}
	files, _ := filepath.Glob("testdata/broken/*.yaml")
	if len(files) != len(kinds) {
		t.Errorf("testdata/broken has %d files, the test knows %d kinds: keep them in step", len(files), len(kinds))
	}
	cat := testCatalog(t)
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			file := filepath.Join("testdata", "broken", kind+".yaml")
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := bufio.NewReader(bytes.NewReader(data)).ReadLine()
			want, ok := strings.CutPrefix(string(first), "# want ")
			if !ok {
				t.Fatalf("%s does not start with # want LINE:COL message", file)
			}
			_, diags := ivr.Compile(cat, ivr.Source{File: file, Data: data})
			if len(diags) != 1 {
				t.Fatalf("want exactly one diagnostic %s:%s, got %d:\n%s", file, want, len(diags), diags.Error())
			}
			pos, msg, _ := strings.Cut(want, " ")
			if got, w := diags[0].String(), file+":"+pos+": "+msg; !strings.HasPrefix(got, w) {
				t.Errorf("got  %s\nwant %s…", got, w)
			}
		})
	}
}

func TestEveryErrorIsReportedAtOnceInOrder(t *testing.T) {
	src := `language: en
start: menu
nodes:
  menu:
    menu:
      prompt: Press 1 for support.
      timeout: soon
    on:
      digit:1: suport
      retries_exhausted: queue
  queue:
    queue: {name: helpdesk, priority: "customer.vipp ? 1 : 0"}
  lost:
    say: Nobody comes here.
`
	_, diags := ivr.Compile(testCatalog(t), ivr.Source{File: "many.yaml", Data: []byte(src)})
	want := []string{
		`many.yaml:7:16: timeout: "soon" is not a duration`,
		`many.yaml:9:16: exit digit:1 goes to "suport", but there is no node "suport"`,
		`many.yaml:12:19: no queue named "helpdesk"`,
		`many.yaml:12:49: unknown field vipp`,
		`many.yaml:13:3: node "lost" is never reached from start "menu"`,
	}
	if len(diags) != len(want) {
		t.Fatalf("want %d diagnostics, got:\n%s", len(want), diags.Error())
	}
	for i, w := range want {
		if !strings.HasPrefix(diags[i].String(), w) {
			t.Errorf("diagnostic %d:\n got  %s\n want %s…", i, diags[i], w)
		}
	}
	if !sort.SliceIsSorted(diags, func(i, j int) bool { return diags[i].Line < diags[j].Line }) {
		t.Error("diagnostics are not in file order")
	}
}

func TestShippedFlowsCheckClean(t *testing.T) {
	srcs, err := ivr.ReadSources(flows.FS, "flows")
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) != 3 {
		t.Errorf("want the three shipped flows, got %d files", len(srcs))
	}
	set, diags := ivr.Compile(testCatalog(t), srcs...)
	if len(diags) > 0 {
		t.Fatalf("shipped flows do not check:\n%s", diags.Error())
	}
	for _, name := range []string{"hotline", "after-hours", "survey"} {
		if set.Flow(name) == nil {
			t.Errorf("flow %s missing", name)
		}
	}
}

func TestFlowsAreCheckedAgainstTheConfiguration(t *testing.T) {
	src := []byte("nodes:\n  q:\n    queue: vip-desk\n")
	cat := testCatalog(t)
	if _, diags := ivr.Compile(cat, ivr.Source{File: "f.yaml", Data: src}); len(diags) != 1 || !strings.Contains(diags[0].Msg, `no queue named "vip-desk"`) {
		t.Fatalf("unknown queue not reported: %v", diags)
	}
	cat.Queues = append(cat.Queues, "vip-desk")
	if _, diags := ivr.Compile(cat, ivr.Source{File: "f.yaml", Data: src}); len(diags) != 0 {
		t.Fatalf("a queue the configuration has is refused: %v", diags)
	}
}

func TestAnchorsAndAliasesAreRefused(t *testing.T) {
	src := "nodes:\n  a: &step\n    say: Hi\n  b: *step\n"
	_, diags := ivr.Compile(testCatalog(t), ivr.Source{File: "f.yaml", Data: []byte(src)})
	if len(diags) == 0 || !strings.Contains(diags.Error(), "anchors (&step) are not allowed") {
		t.Fatalf("anchors accepted: %v", diags)
	}
}
