// Package testenv lets tests demand real tools and services. Under CI (CI=true) a missing
// one fails the test, so nothing passes because something was absent; locally it skips.
package testenv

import (
	"net"
	"os"
	"os/exec"
	"testing"
	"time"
)

// CI reports whether tests run under CI, where nothing may be skipped for lack of a tool.
func CI() bool { return os.Getenv("CI") == "true" || os.Getenv("CI") == "1" }

// Missing fails the test under CI and skips it otherwise.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if CI() {
		t.Fatalf("required for this test under CI: "+format, args...)
	}
	t.Skipf("skipping: "+format, args...)
}

// Tool returns the path of a program on PATH (or in /usr/sbin, where Debian puts daemons such
// as kamailio, which a user's PATH may lack), or fails/skips the test.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if sb, serr := exec.LookPath("/usr/sbin/" + name); serr == nil {
			return sb
		}
		Missing(t, "%s is not installed (make test installs it)", name)
	}
	return p
}

// Service checks that a TCP service answers at addr, or fails/skips the test.
func Service(t testing.TB, name, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		Missing(t, "%s is not reachable at %s: %v", name, addr, err)
		return
	}
	c.Close()
}
