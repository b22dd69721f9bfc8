package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotline-cc/hotline/config"
)

// A typo and a type error in queues[].priority[].when stop `hotline serve` (and its
// --check-config) and `hotline flow check`, each at file:line:col of the expression, as a
// flow's expressions are reported; the sample's own rule (vip == true) passes.
func TestBrokenPriorityRule(t *testing.T) {
	sample := string(config.Sample())
	const good = "- when: vip == true"
	if !strings.Contains(sample, good) {
		t.Fatalf("the sample has no %q rule to break", good)
	}
	broken := strings.Replace(sample, good, `- when: vipp == true`, 1)
	broken = strings.Replace(broken, "      - after: 5m", "      - when: \"waited > 30\"\n        priority: 7\n      - after: 5m", 1)
	dir := t.TempDir()
	path := filepath.Join(dir, "hotline.yaml")
	if err := os.WriteFile(path, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	var typo, typeErr string
	for i, l := range strings.Split(broken, "\n") {
		if c := strings.Index(l, "vipp =="); c >= 0 && typo == "" {
			typo = fmt.Sprintf("%s:%d:%d: queues[0].priority[0].when: unknown variable vipp", path, i+1, c+1)
		}
		if c := strings.Index(l, `"waited > 30"`); c >= 0 && typeErr == "" {
			// the > after the opening quote and "waited "
			typeErr = fmt.Sprintf("%s:%d:%d: queues[0].priority[1].when: invalid operation: > (mismatched types time.Duration and int)", path, i+1, c+1+1+len("waited "))
		}
	}
	for _, args := range [][]string{
		{"serve", "--config", path, "--check-config", "--data-dir", filepath.Join(dir, "data")},
		{"serve", "--config", path, "--data-dir", filepath.Join(dir, "data"), "--sip-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"},
		{"flow", "check", "--config", path},
	} {
		out, code := hotlineCmd(t, args...)
		if code != 1 || !strings.Contains(out, typo) || !strings.Contains(out, typeErr) || !strings.Contains(out, `did you mean "vip"?`) {
			t.Errorf("hotline %s: exit %d, want 1 with\n  %s\n  %s\ngot:\n%s", strings.Join(args, " "), code, typo, typeErr, out)
		}
	}
	if out, code := hotlineCmd(t, "flow", "check"); code != 0 {
		t.Errorf("hotline flow check on the sample: exit %d\n%s", code, out)
	}
}
