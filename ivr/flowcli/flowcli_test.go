package flowcli_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotline-cc/hotline/center"
	"github.com/hotline-cc/hotline/ivr/flowcli"
)

// run runs `hotline flow` as the hotline command does, reading --config files with the
// wiring's loader.
func run(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := flowcli.Main(center.LoadFlowCatalog, args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

// wantOf reads the "# want LINE:COL message" header of a broken flow.
func wantOf(t *testing.T, file string) string {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	pos, msg, _ := strings.Cut(strings.TrimPrefix(sc.Text(), "# want "), " ")
	return file + ":" + pos + ": " + msg
}

// Acceptance 1: each planted error is printed at its exact file:line:col, and check exits 1.
func TestCheckPrintsEachPlantedErrorAtItsPlace(t *testing.T) {
	files, _ := filepath.Glob("../testdata/broken/*.yaml")
	if len(files) < 20 {
		t.Fatalf("only %d broken flows", len(files))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			out, errOut, code := run(t, "", "check", file)
			lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
			if code != 1 || len(lines) != 1 || !strings.HasPrefix(lines[0], wantOf(t, file)) {
				t.Errorf("exit %d, stdout:\n%s\nstderr: %s\nwant one line starting %s", code, out, errOut, wantOf(t, file))
			}
		})
	}
	// all at once: every error of every file, in file order
	out, _, code := run(t, "", append([]string{"check"}, files...)...)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if code != 1 || len(lines) != len(files) {
		t.Fatalf("exit %d, %d lines for %d files:\n%s", code, len(lines), len(files), out)
	}
	for i, file := range files {
		if !strings.HasPrefix(lines[i], wantOf(t, file)) {
			t.Errorf("line %d: %s\nwant     %s", i+1, lines[i], wantOf(t, file))
		}
	}
}

func TestCheckOnTheShippedFlowsPrintsNothing(t *testing.T) {
	out, errOut, code := run(t, "", "check", "../../flows/hotline.yaml", "../../flows/after-hours.yaml", "../../flows/survey.yaml")
	if code != 0 || out != "" || errOut != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if out, _, code := run(t, "", "check"); code != 0 || out != "" { // the embedded copies
		t.Errorf("embedded flows: exit %d, %q", code, out)
	}
}

func TestCheckUsesTheGivenConfiguration(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "hotline.yaml")
	os.WriteFile(cfg, []byte("queues:\n  - name: helpdesk\n"), 0o644)
	out, _, code := run(t, "", "check", "--config", cfg, "../../flows/hotline.yaml")
	if code != 1 || !strings.Contains(out, `no queue named "support"`) || !strings.Contains(out, `no schedule named "office"`) {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

// inOrder reports the first of want not found in out after the ones before it.
func inOrder(out string, want ...string) string {
	rest := out
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			return w
		}
		rest = rest[i+len(w):]
	}
	return ""
}

// Acceptance 2: 2 then 1 is the Mandarin path into the support queue.
func TestSimMandarinCallerIntoSupport(t *testing.T) {
	out, errOut, code := run(t, "", "sim", "../../flows/hotline.yaml", "--caller", "+8613800138000", "--digits", "2,1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if miss := inOrder(out,
		"caller +8613800138000",
		"language · menu", `says [en] "Welcome to the hotline. For English, press 1."`, `says [zh] "欢迎致电热线服务。中文服务请按 2。"`,
		"caller presses 2", "exit digit:2 → chinese",
		"chinese · language", "set language = zh",
		"hours · hours", "office at Tue 2026-11-24 10:00 CST: open",
		"menu · menu", `says [zh] "技术支持请按 1，销售咨询请按 2，账单问题请按 3，留言请按 4。"`, "caller presses 1", "exit digit:1 → support",
		"support · queue", "support, priority 0", "answered by 1001", "exit answered → survey",
		"outcome: answered (queue support, agent 1001)",
		"path: language → chinese → hours → identify → menu → support → survey → survey/rate",
	); miss != "" {
		t.Errorf("output lacks %q:\n%s", miss, out)
	}
}

func TestSimSundayNightTakesTheAfterHoursPath(t *testing.T) {
	out, _, code := run(t, "", "sim", "../../flows/hotline.yaml", "--caller", "+8613800138000", "--digits", "2,1", "--at", "2026-11-29T21:00+08:00")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if miss := inOrder(out,
		"Sun 2026-11-29 21:00 +08:00",
		"office at Sun 2026-11-29 21:00 CST: closed", "exit closed → after-hours",
		"goto → after-hours/closed", "after-hours/closed · menu", "现在是非工作时间",
		"caller presses 1", "after-hours/record · voicemail", "saved as ticket T-1001",
		`"谢谢您的留言。您的工单号是 T 幺 零 零 幺`,
		"outcome: voicemail (ticket T-1001)",
	); miss != "" {
		t.Errorf("output lacks %q:\n%s", miss, out)
	}
	if strings.Contains(out, "support · queue") {
		t.Error("a Sunday night call was queued")
	}
}

func TestSimAsksForDigitsWithoutDigitsFlag(t *testing.T) {
	out, _, code := run(t, "2\n\nx\n1\nh\n", "sim", "../../flows/hotline.yaml")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if miss := inOrder(out, "caller> press digits", "caller presses 2", "chinese · language",
		"caller presses nothing", `"x" is not digits`, "caller presses 1", "support · queue", "caller hangs up"); miss != "" {
		t.Errorf("output lacks %q:\n%s", miss, out)
	}
}

func TestSimRefusesABrokenFlowWithItsDiagnostics(t *testing.T) {
	_, errOut, code := run(t, "", "sim", "../testdata/broken/unknown-queue.yaml", "--digits", "1")
	if code != 1 || !strings.Contains(errOut, "unknown-queue.yaml:7:13: no queue named") {
		t.Errorf("exit %d, stderr %s", code, errOut)
	}
}

func TestFlowTestRunsTheShippedTests(t *testing.T) {
	out, _, code := run(t, "", "test", "-v", "../../flows/tests")
	if code != 0 || !strings.Contains(out, "PASS:") || strings.Contains(out, "FAIL") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if n := strings.Count(out, "\nok   ") + 1; n < 20 {
		t.Errorf("only %d cases ran", n)
	}
}

func TestFlowTestFailsAndShowsTheCall(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"hotline.yaml", "after-hours.yaml", "survey.yaml"} {
		b, _ := os.ReadFile(filepath.Join("../../flows", f))
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	os.Mkdir(filepath.Join(dir, "tests"), 0o755)
	os.WriteFile(filepath.Join(dir, "tests", "wrong.yaml"), []byte(`flow: ../hotline.yaml
cases:
  - name: sales is expected but support is chosen
    digits: [1, 1]
    expect:
      queue: {name: sales}
`), 0o644)
	out, _, code := run(t, "", "test", filepath.Join(dir, "tests"))
	if code != 1 || inOrder(out, "FAIL "+filepath.Join(dir, "tests", "wrong.yaml")+":3: sales is expected", "joined queue support, want sales", "| support · queue", "FAIL: 1 of 1 cases failed") != "" {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

func TestGraph(t *testing.T) {
	out, _, code := run(t, "", "graph", "../../flows/survey.yaml")
	if code != 0 || !strings.HasPrefix(out, "flowchart TD") || !strings.Contains(out, `-- "retries_exhausted" -->`) {
		t.Errorf("mermaid: exit %d\n%s", code, out)
	}
	out, _, code = run(t, "", "graph", "--dot", "../../flows/survey.yaml")
	if code != 0 || !strings.Contains(out, `"rate" -> "low-score" [label="next"];`) {
		t.Errorf("dot: exit %d\n%s", code, out)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{{}, {"frobnicate"}, {"sim"}, {"sim", "../../flows/hotline.yaml", "--digits", "2,x"}, {"sim", "../../flows/hotline.yaml", "--at", "tomorrow"}, {"check", "--nope"}} {
		if _, _, code := run(t, "", args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
