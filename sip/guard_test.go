package sip

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/internal/sipptest"
	"github.com/hotline-cc/hotline/internal/testenv"
)

var (
	attacker = netip.MustParseAddr("203.0.113.9")
	agentIP  = netip.MustParseAddr("198.51.100.20")
)

func newTestGuard(cfg AuthGuard) (*guard, *fakeClock) {
	clock := &fakeClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	return newGuard(cfg, clock.Now), clock
}

func TestGuardLocksSourceAfterFailuresAndUnlocksOnExpiry(t *testing.T) {
	g, clock := newTestGuard(AuthGuard{})
	for i := 1; i <= 4; i++ {
		if got := g.fail(attacker, "1001", true); len(got) != 0 {
			t.Fatalf("failure %d locked %v; the lock is at 5", i, got)
		}
	}
	if scope, _ := g.locked(attacker, "1001"); scope != "" {
		t.Fatalf("locked (%s) after 4 failures", scope)
	}
	if got := g.fail(attacker, "1001", true); fmt.Sprint(got) != "[source]" {
		t.Fatalf("5th failure locked %v, want [source]", got)
	}
	scope, until := g.locked(attacker, "9999")
	if scope != scopeSource || !until.Equal(clock.Now().Add(15*time.Minute)) {
		t.Fatalf("locked = %s until %v, want source for 15m", scope, until)
	}
	if scope, _ := g.locked(agentIP, "1001"); scope != "" {
		t.Fatalf("another address is locked too (%s)", scope)
	}
	clock.Add(15*time.Minute - time.Second)
	if scope, _ := g.locked(attacker, "1001"); scope != scopeSource {
		t.Fatal("lock ended early")
	}
	clock.Add(time.Second)
	if scope, _ := g.locked(attacker, "1001"); scope != "" {
		t.Fatalf("still locked (%s) after 15m", scope)
	}
	// After a lock the count starts afresh: four more guesses are allowed, not one.
	for i := 1; i <= 4; i++ {
		if got := g.fail(attacker, "1001", true); len(got) != 0 {
			t.Fatalf("after expiry, failure %d locked %v", i, got)
		}
	}
}

func TestGuardWindowForgetsOldFailures(t *testing.T) {
	g, clock := newTestGuard(AuthGuard{})
	for range 4 {
		g.fail(attacker, "1001", true)
	}
	clock.Add(5*time.Minute + time.Second)
	if got := g.fail(attacker, "1001", true); len(got) != 0 {
		t.Fatalf("a failure after the window locked %v: four old ones still counted", got)
	}
}

func TestGuardSuccessResetsSource(t *testing.T) {
	g, _ := newTestGuard(AuthGuard{})
	for range 4 {
		g.fail(agentIP, "1001", true)
	}
	g.succeed(agentIP, "1001") // the agent typed it right at last
	for i := 1; i <= 4; i++ {
		if got := g.fail(agentIP, "1001", true); len(got) != 0 {
			t.Fatalf("failure %d after a success locked %v", i, got)
		}
	}
}

// A botnet guessing one agent's password from many addresses locks the account against new
// addresses, never against the phone the agent registered from; and only for UserLockout.
func TestGuardUserLockSparesTrustedSources(t *testing.T) {
	g, clock := newTestGuard(AuthGuard{})
	g.succeed(agentIP, "1001")
	var locked []string
	for i := range 20 {
		bot := netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)})
		locked = g.fail(bot, "1001", true)
	}
	if fmt.Sprint(locked) != "[user]" {
		t.Fatalf("20th failure for 1001 locked %v, want [user]", locked)
	}
	if scope, _ := g.locked(agentIP, "1001"); scope != "" {
		t.Fatalf("the agent's own phone is locked out (%s)", scope)
	}
	if scope, _ := g.locked(netip.MustParseAddr("192.0.2.200"), "1001"); scope != scopeUser {
		t.Fatalf("a new address for 1001 = %q, want locked by user", scope)
	}
	if scope, _ := g.locked(netip.MustParseAddr("192.0.2.200"), "1002"); scope != "" {
		t.Fatalf("another account is locked (%s)", scope)
	}
	clock.Add(5 * time.Minute)
	if scope, _ := g.locked(netip.MustParseAddr("192.0.2.200"), "1001"); scope != "" {
		t.Fatalf("account lock lasts past 5m (%s)", scope)
	}
	// Trust wears off: a day later the address is a stranger again.
	clock.Add(trustFor)
	for i := range 20 {
		g.fail(netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}), "1001", true)
	}
	if scope, _ := g.locked(agentIP, "1001"); scope != scopeUser {
		t.Fatalf("an address last seen a day ago is still trusted (%q)", scope)
	}
}

func TestGuardMadeUpUserNamesAreNotTracked(t *testing.T) {
	g, _ := newTestGuard(AuthGuard{MaxFailures: -1})
	for i := range 5000 {
		g.fail(attacker, fmt.Sprintf("user%d", i), false)
	}
	if n := len(g.users); n != 0 {
		t.Fatalf("%d accounts tracked for made-up names", n)
	}
	if scope, _ := g.locked(attacker, "user1"); scope != "" {
		t.Fatalf("max_failures -1 still locks (%s)", scope)
	}
}

// A flood of failures from more addresses than MaxSources keeps the table bounded and
// forgets the quiet ones before an address that is locked.
func TestGuardBoundedUnderManySources(t *testing.T) {
	g, _ := newTestGuard(AuthGuard{MaxSources: 100})
	for range 5 {
		g.fail(attacker, "", false)
	}
	for i := range 20000 {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		g.fail(ip, "", false)
		if n := g.tracked(); n > 100 {
			t.Fatalf("after %d addresses the table holds %d, cap 100", i+1, n)
		}
	}
	if scope, _ := g.locked(attacker, ""); scope != scopeSource {
		t.Fatal("the flood of one-off addresses evicted the locked attacker")
	}
}

func TestGuardExemptNeverLocked(t *testing.T) {
	office := netip.MustParsePrefix("198.51.100.0/24")
	g, _ := newTestGuard(AuthGuard{Exempt: []netip.Prefix{office}})
	for range 50 {
		if got := g.fail(agentIP, "", false); len(got) != 0 {
			t.Fatalf("exempt address locked: %v", got)
		}
	}
	if scope, _ := g.locked(agentIP, ""); scope != "" {
		t.Fatalf("exempt address locked (%s)", scope)
	}
}

// logBuffer is a JSON log the tests read records back from.
type logBuffer struct{ testenv.Output }

// events are the security event records logged so far.
func (b *logBuffer) events(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == securityEventMsg {
			out = append(out, rec)
		}
	}
	return out
}

// registerFrom is a REGISTER for agent from ip (its Via, which is its source in unit tests),
// with authz as Authorization if not "".
func registerFrom(ip netip.Addr, agent, authz string, seq int) string {
	var extra string
	if authz != "" {
		extra = "Authorization: " + authz + "\r\n"
	}
	return fmt.Sprintf("REGISTER sip:127.0.0.1 SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %[1]s:5070;branch=z9hG4bK-reg-%[3]d;rport\r\n"+
		"From: <sip:%[2]s@127.0.0.1>;tag=reg-%[3]d\r\n"+
		"To: <sip:%[2]s@127.0.0.1>\r\n"+
		"Call-ID: reg-%[1]s@test\r\n"+
		"CSeq: %[3]d REGISTER\r\n"+
		"Contact: <sip:%[2]s@%[1]s:5070>\r\n"+
		"Max-Forwards: 70\r\n"+
		"Expires: 60\r\n%[4]s"+
		"Content-Length: 0\r\n\r\n", ip, agent, seq, extra)
}

// digestFor answers challenge for method and uri as user with password, nonce count nc.
func digestFor(challenge, method, user, password, uri string, nc int) string {
	nonce := regexp.MustCompile(`nonce="([^"]+)"`).FindStringSubmatch(challenge)[1]
	ha1 := md5hex(user + ":hotline:" + password)
	ha2 := md5hex(method + ":" + uri)
	resp := md5hex(fmt.Sprintf("%s:%s:%08x:%s:auth:%s", ha1, nonce, nc, "c0ffee", ha2))
	return fmt.Sprintf(`Digest username="%s", realm="hotline", nonce="%s", uri="%s", response="%s", algorithm=MD5, qop=auth, nc=%08x, cnonce="c0ffee"`,
		user, nonce, uri, resp, nc)
}

// unitRegistrar is a server's registrar with a JSON log to read security events from.
func unitRegistrar(t *testing.T) (unitServer, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	s := newUnitServer(t, WithLogger(slog.New(slog.NewJSONHandler(logs, nil))))
	return s, logs
}

// register sends one REGISTER from ip through the registrar, answering a fresh challenge for
// that address with password; it returns the final response.
func (s unitServer) register(t *testing.T, ip netip.Addr, agent, password string, seq int) *sip.Response {
	t.Helper()
	authz := digestFor(s.auth.Challenge(ip, false), "REGISTER", agent, password, "sip:127.0.0.1", 1)
	return s.reg.handle(parseRequest(t, registerFrom(ip, agent, authz, seq)))
}

// Digest brute force on REGISTER: five wrong passwords from one address lock it out (403 at
// once, no challenge, even with the right password), the agent's phone elsewhere registers,
// and every step is a security event with the fields fail2ban and a SIEM read.
func TestRegisterBruteForceLocksOutSource(t *testing.T) {
	s, logs := unitRegistrar(t)
	lockouts := counterValue(mLockouts.WithLabelValues(scopeSource))
	invalid := counterValue(mSecurityEvents.WithLabelValues(EventInvalidPassword))
	for i := 1; i <= 5; i++ {
		if res := s.register(t, attacker, "1001", fmt.Sprintf("guess-%d", i), i); res.StatusCode != 403 {
			t.Fatalf("guess %d: %d %s, want 403", i, res.StatusCode, res.Reason)
		}
	}
	res := s.register(t, attacker, "1001", "s3cret-1001", 6)
	if res.StatusCode != 403 || headerValue(res, "WWW-Authenticate") != "" || !strings.Contains(headerValue(res, "Warning"), "too many failed authentications") {
		t.Fatalf("right password from the locked address: %s", res)
	}
	res = s.reg.handle(parseRequest(t, registerFrom(attacker, "1001", "", 7)))
	if res.StatusCode != 403 || headerValue(res, "WWW-Authenticate") != "" {
		t.Fatalf("a locked address asking for a challenge got %d (challenge %q), want 403 and none",
			res.StatusCode, headerValue(res, "WWW-Authenticate"))
	}
	if res := s.register(t, agentIP, "1001", "s3cret-1001", 8); res.StatusCode != 200 {
		t.Fatalf("the agent from its own address: %d %s", res.StatusCode, res.Reason)
	}
	if got := counterValue(mLockouts.WithLabelValues(scopeSource)) - lockouts; got != 1 {
		t.Errorf("hotline_sip_auth_lockouts_total{scope=source} grew by %v, want 1", got)
	}
	if got := counterValue(mSecurityEvents.WithLabelValues(EventInvalidPassword)) - invalid; got != 5 {
		t.Errorf("InvalidPassword events counted %v, want 5", got)
	}
	evs := logs.events(t)
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, e["event"].(string))
	}
	want := "InvalidPassword InvalidPassword InvalidPassword InvalidPassword InvalidPassword FailedACL FailedACL FailedACL"
	if strings.Join(kinds, " ") != want {
		t.Fatalf("events %v, want %s", kinds, want)
	}
	first := evs[0]
	for k, v := range map[string]string{"level": "WARN", "service": "SIP", "source_ip": attacker.String(),
		"source": attacker.String() + ":5070", "user": "1001", "method": "REGISTER", "session_id": "reg-203.0.113.9@test",
		"reason": "digest response does not match the password"} {
		if first[k] != v {
			t.Errorf("event field %s = %v, want %q", k, first[k], v)
		}
	}
	if r := evs[5]["reason"].(string); !strings.Contains(r, "locked out for 15m0s after 5 failed authentications within 5m0s") {
		t.Errorf("lockout event reason %q", r)
	}
	s.clock.Add(15 * time.Minute)
	if res := s.register(t, attacker, "1001", "s3cret-1001", 9); res.StatusCode != 200 {
		t.Fatalf("after the lockout: %d %s", res.StatusCode, res.Reason)
	}
}

// Unknown user names are InvalidAccountID events and count against the source too.
func TestRegisterUnknownUsersCountAgainstSource(t *testing.T) {
	s, logs := unitRegistrar(t)
	for i := 1; i <= 5; i++ {
		name := fmt.Sprintf("admin%d", i)
		if res := s.register(t, attacker, name, "admin", i); res.StatusCode != 403 {
			t.Fatalf("%s: %d", name, res.StatusCode)
		}
	}
	if res := s.register(t, attacker, "1001", "s3cret-1001", 6); res.StatusCode != 403 {
		t.Fatalf("after 5 unknown users the source is not locked: %d", res.StatusCode)
	}
	evs := logs.events(t)
	if len(evs) < 5 || evs[0]["event"] != EventInvalidAccountID || evs[0]["user"] != "admin1" {
		t.Fatalf("events %v", evs)
	}
}

// Nonce replay (RFC 2617 §3.2.2): a captured Authorization sent again is refused with a new
// challenge, is a ChallengeResponseFailed event, and is no guess (the source is not locked
// by replays alone, since a replay can come with a forged address).
func TestRegisterReplayedAuthorizationIsRefusedAndReported(t *testing.T) {
	s, logs := unitRegistrar(t)
	authz := digestFor(s.auth.Challenge(agentIP, false), "REGISTER", "1001", "s3cret-1001", "sip:127.0.0.1", 1)
	captured := registerFrom(agentIP, "1001", authz, 1)
	if res := s.reg.handle(parseRequest(t, captured)); res.StatusCode != 200 {
		t.Fatalf("first use: %d", res.StatusCode)
	}
	before := counterValue(mSecurityEvents.WithLabelValues(EventChallengeResponseFailed))
	for i := range 8 {
		res := s.reg.handle(parseRequest(t, strings.Replace(captured, "CSeq: 1 ", fmt.Sprintf("CSeq: %d ", i+2), 1)))
		if res.StatusCode != 401 || !strings.Contains(headerValue(res, "WWW-Authenticate"), "nonce=") {
			t.Fatalf("replay %d: %d, want 401 with a new challenge", i, res.StatusCode)
		}
	}
	if got := counterValue(mSecurityEvents.WithLabelValues(EventChallengeResponseFailed)) - before; got != 8 {
		t.Errorf("ChallengeResponseFailed counted %v, want 8", got)
	}
	ev := logs.events(t)[0]
	if ev["event"] != EventChallengeResponseFailed || ev["reason"] != "nonce count replayed" || ev["user"] != "1001" {
		t.Errorf("replay event %v", ev)
	}
	if res := s.register(t, agentIP, "1001", "s3cret-1001", 20); res.StatusCode != 200 {
		t.Fatalf("8 replays locked the agent's address: %d", res.StatusCode)
	}
}

// A nonce is good only from the address it was sent to: from another it is a new (stale)
// challenge, and no failure is counted there, so forged sources cannot lock anyone out.
func TestNonceFromAnotherAddressIsRechallengedNotCounted(t *testing.T) {
	s, _ := unitRegistrar(t)
	for i := 1; i <= 10; i++ {
		authz := digestFor(s.auth.Challenge(attacker, false), "REGISTER", "1001", "guess", "sip:127.0.0.1", 1)
		res := s.reg.handle(parseRequest(t, registerFrom(agentIP, "1001", authz, i)))
		if res.StatusCode != 401 || !strings.Contains(headerValue(res, "WWW-Authenticate"), "stale=true") {
			t.Fatalf("foreign nonce %d: %d %q, want 401 stale", i, res.StatusCode, headerValue(res, "WWW-Authenticate"))
		}
	}
	if res := s.register(t, agentIP, "1001", "s3cret-1001", 11); res.StatusCode != 200 {
		t.Fatalf("forged failures locked the agent's address: %d", res.StatusCode)
	}
}

// Feature codes take digest on INVITE: the same guard applies.
func TestFeatureCodeBruteForceLocksOut(t *testing.T) {
	s, logs := unitRegistrar(t)
	uri := "sip:*52@127.0.0.1:5060"
	send := func(password string) *sip.Response {
		authz := digestFor(s.auth.Challenge(netip.MustParseAddr("127.0.0.1"), false), "INVITE", "1001", password, uri, 1)
		tx := &recordingTx{}
		s.handleInvite(parseRequest(t, invite("*52", "Authorization: "+authz+"\r\n", sdpPCMU)), tx)
		return tx.sent()[len(tx.sent())-1]
	}
	for i := range 5 {
		if res := send("guess"); res.StatusCode != 403 {
			t.Fatalf("guess %d: %d", i, res.StatusCode)
		}
	}
	locked := counterValue(mRejected.WithLabelValues("locked_out"))
	if res := send("s3cret-1001"); res.StatusCode != 403 || !strings.Contains(headerValue(res, "Warning"), "too many failed") {
		t.Fatalf("right password from a locked address: %s", res)
	}
	if got := counterValue(mRejected.WithLabelValues("locked_out")) - locked; got != 1 {
		t.Errorf("invites_rejected_total{reason=locked_out} grew by %v", got)
	}
	if evs := logs.events(t); len(evs) != 7 || evs[0]["method"] != "INVITE" || evs[6]["event"] != EventFailedACL {
		t.Fatalf("events %v", evs)
	}
}

// The event log is throttled per source: the first ten a minute are written, the rest
// counted and summed up once; another source's first events are written all the same.
func TestSecurityEventsThrottledPerSource(t *testing.T) {
	logs := &logBuffer{}
	clock := &fakeClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	l := newSecurityLog(slog.New(slog.NewJSONHandler(logs, nil)), clock.Now)
	flood := parseRequest(t, registerFrom(attacker, "1001", "", 1))
	before := counterValue(mSecurityEvents.WithLabelValues(EventInvalidPassword))
	for range 1000 {
		l.report(flood, EventInvalidPassword, "1001", "x")
	}
	l.report(parseRequest(t, registerFrom(agentIP, "1002", "", 1)), EventInvalidPassword, "1002", "x")
	if n := len(logs.events(t)); n != eventBurst+1 {
		t.Fatalf("%d event records for 1001 flood + 1, want %d", n, eventBurst+1)
	}
	if got := counterValue(mSecurityEvents.WithLabelValues(EventInvalidPassword)) - before; got != 1001 {
		t.Errorf("metric counted %v, want every event (1001)", got)
	}
	clock.Add(eventWindow + time.Second)
	l.report(flood, EventInvalidPassword, "1001", "x")
	if !strings.Contains(logs.String(), `"msg":"security events suppressed","source_ip":"203.0.113.9","count":990`) {
		t.Fatalf("no summary of the 990 suppressed:\n%s", logs.String()[max(0, len(logs.String())-400):])
	}
	if n := len(logs.events(t)); n != eventBurst+2 {
		t.Fatalf("next window's first event not written (%d records)", n)
	}
}

// fanout is a slog.Handler writing every record to several handlers (text and JSON at once).
type fanout []slog.Handler

func (f fanout) Enabled(context.Context, slog.Level) bool { return true }

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	for _, h := range f {
		if h.Enabled(ctx, r.Level) {
			_ = h.Handle(ctx, r.Clone())
		}
	}
	return nil
}

func (f fanout) WithAttrs(as []slog.Attr) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithAttrs(as)
	}
	return out
}

func (f fanout) WithGroup(name string) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithGroup(name)
	}
	return out
}

// udpPeer is a SIP client on its own loopback address, speaking raw datagrams.
type udpPeer struct {
	t    *testing.T
	conn *net.UDPConn
	to   *net.UDPAddr
}

func newUDPPeer(t *testing.T, ip, server string) *udpPeer {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatalf("listen on %s: %v", ip, err)
	}
	t.Cleanup(func() { conn.Close() })
	to, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		t.Fatal(err)
	}
	return &udpPeer{t: t, conn: conn, to: to}
}

// exchange sends msg and returns the final response's head (status line and headers).
func (p *udpPeer) exchange(msg string) string {
	p.t.Helper()
	if _, err := p.conn.WriteTo([]byte(msg), p.to); err != nil {
		p.t.Fatal(err)
	}
	_ = p.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 8192)
	for {
		n, _, err := p.conn.ReadFrom(buf)
		if err != nil {
			p.t.Fatalf("no answer to\n%s: %v", msg, err)
		}
		if !strings.HasPrefix(string(buf[:n]), "SIP/2.0 1") {
			head, _, _ := strings.Cut(string(buf[:n]), "\r\n\r\n")
			return head
		}
	}
}

// End to end, on real sockets: a source guessing an agent's password is locked out after
// five guesses, while the agent's phone on another address registers (sipp); the security
// events are in the log in both formats, and deploy/fail2ban's filter, run by fail2ban-regex
// itself, finds the guessing address in them and no other.
func TestBruteForceLockedOutWhileAgentRegistersE2E(t *testing.T) {
	f2b, err := exec.LookPath("fail2ban-regex")
	if err != nil {
		t.Fatal("fail2ban-regex is not installed (scripts/deps.sh test installs fail2ban)")
	}
	dir := t.TempDir()
	textLog, err := os.Create(filepath.Join(dir, "hotline.log"))
	if err != nil {
		t.Fatal(err)
	}
	jsonLog, err := os.Create(filepath.Join(dir, "hotline.json"))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(fanout{slog.NewTextHandler(textLog, nil), slog.NewJSONHandler(jsonLog, nil)})
	srv := startServer(t, func(call.Channel) {}, WithLogger(log))
	lockouts := counterValue(mLockouts.WithLabelValues(scopeSource))

	bot := newUDPPeer(t, "127.0.0.2", srv.addr)
	local := bot.conn.LocalAddr().(*net.UDPAddr)
	botIP := netip.MustParseAddr("127.0.0.2")
	for i := 1; i <= 5; i++ {
		head := bot.exchange(strings.Replace(registerFrom(botIP, "1001", "", 2*i), ":5070", fmt.Sprintf(":%d", local.Port), -1))
		challenge := regexp.MustCompile(`(?m)^WWW-Authenticate: (.*)$`).FindStringSubmatch(head)
		if !strings.HasPrefix(head, "SIP/2.0 401") || challenge == nil {
			t.Fatalf("guess %d: no challenge:\n%s", i, head)
		}
		authz := digestFor(strings.TrimSpace(challenge[1]), "REGISTER", "1001", fmt.Sprintf("guess%d", i), "sip:127.0.0.1", 1)
		if head := bot.exchange(strings.Replace(registerFrom(botIP, "1001", authz, 2*i+1), ":5070", fmt.Sprintf(":%d", local.Port), -1)); !strings.HasPrefix(head, "SIP/2.0 403") {
			t.Fatalf("guess %d: %s", i, head)
		}
	}
	head := bot.exchange(strings.Replace(registerFrom(botIP, "1001", "", 20), ":5070", fmt.Sprintf(":%d", local.Port), -1))
	if !strings.HasPrefix(head, "SIP/2.0 403") || strings.Contains(head, "WWW-Authenticate") {
		t.Fatalf("the locked source was answered:\n%s", head)
	}
	if got := counterValue(mLockouts.WithLabelValues(scopeSource)) - lockouts; got != 1 {
		t.Errorf("lockouts counted %v, want 1", got)
	}

	sipptest.Start(t, sipptest.Options{Scenario: "register.xml", Target: srv.addr,
		Auth: [2]string{"1001", "s3cret-1001"}, Inject: [][]string{{"1001", "s3cret-1001", "5990", "60"}}}).MustSucceed(t)
	if got := srv.Registrar().Contacts("1001"); len(got) != 1 || got[0].Source == "" || !strings.HasPrefix(got[0].Source, "127.0.0.1:") {
		t.Fatalf("the agent did not register from 127.0.0.1 during the lockout: %+v", got)
	}

	// 5 InvalidPassword, the FailedACL that locks, the FailedACL that refuses.
	for _, file := range []string{textLog.Name(), jsonLog.Name()} {
		out, err := exec.Command(f2b, "-o", "ip", file, filepath.Join("..", "deploy", "fail2ban", "filter.d", "hotline.conf")).CombinedOutput()
		if err != nil {
			t.Fatalf("fail2ban-regex %s: %v\n%s", filepath.Base(file), err, out)
		}
		ips := strings.Fields(string(out))
		if len(ips) != 7 {
			t.Errorf("%s: fail2ban-regex found %d failures %v, want 7 (5 wrong passwords, lock, refusal)", filepath.Base(file), len(ips), ips)
		}
		for _, ip := range ips {
			if ip != "127.0.0.2" {
				t.Errorf("%s: the filter matched %s, want the guessing 127.0.0.2 only", filepath.Base(file), ip)
			}
		}
		b, _ := os.ReadFile(file)
		if os.Getenv("GUARD_DUMP") != "" {
			t.Logf("%s", b)
		}
		if n := strings.Count(string(b), "security event"); n != 7 {
			t.Errorf("%s holds %d security events, want 7:\n%s", filepath.Base(file), n, b)
		}
	}
}

// The event throttle's table stays bounded under events from more addresses than it tracks.
func TestSecurityLogBoundedUnderManySources(t *testing.T) {
	l := newSecurityLog(slog.New(slog.NewJSONHandler(io.Discard, nil)), time.Now)
	for i := range 3 * eventMaxSources {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		l.report(parseRequest(t, registerFrom(ip, "1001", "", 1)), EventInvalidAccountID, "x", "x")
		if n := len(l.per); n > eventMaxSources {
			t.Fatalf("%d sources tracked after %d, cap %d", n, i+1, eventMaxSources)
		}
	}
}

// What a guess costs hotline: a wrong password (nonce check, MD5, bookkeeping, an event),
// and a locked source (a map lookup and a throttled event; no MD5, no challenge).
func BenchmarkAuthenticate(b *testing.B) {
	for _, tc := range []struct {
		name   string
		locked bool
	}{{"wrong_password", false}, {"locked_source", true}} {
		b.Run(tc.name, func(b *testing.B) {
			s := newUnitServer(b, WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil))))
			ip := netip.MustParseAddr("203.0.113.77")
			if !tc.locked {
				s.gate.guard.cfg.MaxFailures = -1
			}
			authz := digestFor(s.auth.Challenge(ip, false), "REGISTER", "1001", "guess", "sip:127.0.0.1", 1)
			req := parseRequest(b, registerFrom(ip, "1001", authz, 1))
			for range 5 {
				_, _ = s.gate.authenticate(req)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				_, _ = s.gate.authenticate(req)
			}
		})
	}
}

// A botnet guessing 1001's password from 20 addresses (four guesses each, under the source
// lock) locks the account against new addresses; the agent's phone, registered before from
// its own address, keeps registering; another agent is untouched.
func TestRegisterAccountLockSparesTheAgentsPhone(t *testing.T) {
	s, logs := unitRegistrar(t)
	if res := s.register(t, agentIP, "1001", "s3cret-1001", 1); res.StatusCode != 200 {
		t.Fatalf("agent: %d", res.StatusCode)
	}
	userLocks := counterValue(mLockouts.WithLabelValues(scopeUser))
	for i := range 20 {
		bot := netip.AddrFrom4([4]byte{192, 0, 2, byte(i/4 + 1)})
		if res := s.register(t, bot, "1001", "guess", 10+i); res.StatusCode != 403 {
			t.Fatalf("guess %d: %d", i, res.StatusCode)
		}
	}
	if got := counterValue(mLockouts.WithLabelValues(scopeUser)) - userLocks; got != 1 {
		t.Fatalf("account locks %v, want 1", got)
	}
	stranger := netip.MustParseAddr("192.0.2.99")
	if res := s.register(t, stranger, "1001", "s3cret-1001", 40); res.StatusCode != 403 {
		t.Errorf("right password from a new address during the account lock: %d, want 403", res.StatusCode)
	}
	if res := s.register(t, agentIP, "1001", "s3cret-1001", 41); res.StatusCode != 200 {
		t.Errorf("the agent's own phone during the account lock: %d, want 200", res.StatusCode)
	}
	if res := s.register(t, stranger, "1002", "s3cret-1002", 42); res.StatusCode != 200 {
		t.Errorf("another agent from the new address: %d, want 200", res.StatusCode)
	}
	s.clock.Add(5 * time.Minute)
	if res := s.register(t, stranger, "1001", "s3cret-1001", 43); res.StatusCode != 200 {
		t.Errorf("after user_lockout: %d, want 200", res.StatusCode)
	}
	var sawLock bool
	for _, e := range logs.events(t) {
		if e["event"] == EventFailedACL && strings.HasPrefix(e["reason"].(string), "account locked for 5m0s against new sources after 20") {
			sawLock = true
		}
	}
	if !sawLock {
		t.Error("no FailedACL event for the account lock")
	}
}
