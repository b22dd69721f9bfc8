package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotline-cc/hotline/internal/testenv"
)

// kamailio-asterisk.cfg (several Asterisk servers, each with its hotline node) keeps the
// agents' registrations and authenticates them itself, spreads callers over the servers, and
// forwards the servers' INVITEs to agents to the registered phones; Kamailio accepts it.
func TestKamailioForSeveralAsterisks(t *testing.T) {
	cfg := string(readFile(t, "kamailio/kamailio-asterisk.cfg"))
	for _, want := range []string{
		`modparam("dispatcher", "list_file", ASTERISK_LIST)`,
		`modparam("dispatcher", "ds_ping_method", "OPTIONS")`,
		`www_authenticate("$td", "subscriber")`,
		`save("location")`,
		`ds_is_from_list(ASTERISK_SET)`,
		`lookup("location")`,
		`ds_select_dst(ASTERISK_SET, "4")`,
		`ds_next_dst()`,
		`record_route()`,
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("kamailio-asterisk.cfg lacks %s", want)
		}
	}
	list := string(readFile(t, "kamailio/asterisk.list"))
	if n := strings.Count(list, "\n1 sip:"); n < 2 {
		t.Errorf("asterisk.list has %d servers in set 1; want several", n)
	}
	if head := strings.SplitN(string(readFile(t, "kamailio/db/subscriber")), "\n", 2)[0]; !strings.Contains(head, "username(string)") || !strings.Contains(head, "password(string)") {
		t.Errorf("db/subscriber: header %q lacks username or password", head)
	}

	kam := testenv.Tool(t, "kamailio")
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	text := strings.NewReplacer("/etc/kamailio/asterisk.list", abs("kamailio/asterisk.list"),
		"text:///etc/kamailio/db", "text://"+abs("kamailio/db")).Replace(cfg)
	f := filepath.Join(t.TempDir(), "kamailio.cfg")
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(kam, "-c", "-f", f).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("config file ok")) {
		t.Errorf("kamailio -c: %v\n%s", err, out)
	}
}
