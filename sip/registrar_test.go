package sip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/sip/media"
)

// kamailioIP is the proxy in front of the nodes in these tests.
var kamailioIP = netip.MustParseAddr("198.51.100.2")

// nodeServer is an unserved Server like newUnitServer's, named node, with the given store and
// a clock of its own (set alike by the tests).
func nodeServer(t *testing.T, node string, store Bindings, opts ...Option) unitServer {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	all := append([]Option{
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), WithClock(clock.Now),
		WithCredentials(func(a string) (string, bool) { p, ok := testAgents[a]; return p, ok }),
	}, opts...)
	s, err := NewServer(Config{Addr: "127.0.0.1:5060", Realm: "hotline", RTPTimeout: 10 * time.Second,
		Bindings: store, Node: node}, all...)
	if err != nil {
		t.Fatal(err)
	}
	s.ctx = context.Background()
	s.dua = s.newDialogUAs()
	s.openMedia = func() (*media.Session, error) { return nil, errPortsInUse }
	return unitServer{s, clock}
}

// registerEdited sends an authenticated REGISTER for agent from ip (registerFrom's) after
// edit changed its text; the digest is for the address the registrar sees it from, src.
func (s unitServer) registerEdited(t *testing.T, src netip.Addr, ip netip.Addr, agent string, seq int, edit func(string) string) *sip.Response {
	t.Helper()
	authz := digestFor(s.auth.Challenge(src, false), "REGISTER", agent, testAgents[agent], "sip:127.0.0.1", 1)
	raw := registerFrom(ip, agent, authz, seq)
	if edit != nil {
		raw = edit(raw)
	}
	return s.reg.handle(parseRequest(t, raw))
}

// throughKamailio is a REGISTER as Kamailio relays it: its Via on top, so the node sees it
// from Kamailio's address.
func throughKamailio(raw string) string {
	return strings.Replace(raw, "Via: ", "Via: SIP/2.0/UDP "+kamailioIP.String()+":5060;branch=z9hG4bK-kam-1\r\nVia: ", 1)
}

// Two nodes sharing one store: an agent registered at node A through Kamailio is reachable
// from node B, whose INVITE goes to Kamailio (the REGISTER's source) for the phone's Contact;
// node A's name is on the binding, and an unregister at A is seen at B.
func TestRegistrarSharedByTwoNodes(t *testing.T) {
	store := NewMemoryBindings()
	a := nodeServer(t, "hotline-a", store)
	b := nodeServer(t, "hotline-b", store)
	phone := netip.MustParseAddr("203.0.113.50")

	if res := a.registerEdited(t, kamailioIP, phone, "1001", 1, throughKamailio); res.StatusCode != 200 {
		t.Fatalf("REGISTER at node A through Kamailio: %d %s", res.StatusCode, res.Reason)
	}
	got := b.Registrar().Contacts("1001")
	if len(got) != 1 {
		t.Fatalf("node B sees %d contacts of 1001, want the 1 registered at node A", len(got))
	}
	if g := got[0]; g.Node != "hotline-a" || !g.Proxied || g.Source != kamailioIP.String()+":5060" || g.Contact.Host != phone.String() {
		t.Errorf("binding seen at node B = %+v; want node hotline-a, proxied, source Kamailio, contact the phone", g)
	}
	dests, err := b.resolve(context.Background(), call.Target{Agent: "1001"})
	if err != nil || len(dests) != 1 {
		t.Fatalf("node B resolving 1001: %v %v", dests, err)
	}
	if d := dests[0]; d.via != kamailioIP.String()+":5060" || d.uri.Host != phone.String() || d.uri.Port != 5070 {
		t.Errorf("node B would send its INVITE to %q for %s; want Kamailio %s:5060 for the phone's contact", d.via, d.uri.String(), kamailioIP)
	}

	// Straight to a node (one Via, public Contact): sent to the Contact, not its source.
	direct := netip.MustParseAddr("203.0.113.60")
	if res := a.registerEdited(t, direct, direct, "1002", 1, nil); res.StatusCode != 200 {
		t.Fatalf("REGISTER at node A: %d", res.StatusCode)
	}
	if dests, err := b.resolve(context.Background(), call.Target{Agent: "1002"}); err != nil || len(dests) != 1 || dests[0].via != "" {
		t.Errorf("node B resolving 1002 registered directly: %+v %v; want its Contact, no via", dests, err)
	}

	// Expires 0 at node A: gone at node B too.
	if res := a.registerEdited(t, kamailioIP, phone, "1001", 2, func(raw string) string {
		return strings.Replace(throughKamailio(raw), "Expires: 60", "Expires: 0", 1)
	}); res.StatusCode != 200 {
		t.Fatalf("unregister: %d", res.StatusCode)
	}
	if got := b.Registrar().Contacts("1001"); len(got) != 0 {
		t.Errorf("node B still sees %d contacts of 1001 after it unregistered at node A", len(got))
	}
}

// An agent whose binding expires is reported (registration hook with 0) by one node of the
// two that expire the shared store.
func TestRegistrarExpiryReportedByOneNode(t *testing.T) {
	store := NewMemoryBindings()
	var mu sync.Mutex
	var reports []string
	hook := func(node string) Option {
		return WithRegistrationHook(func(agent string, n int) {
			mu.Lock()
			reports = append(reports, fmt.Sprintf("%s %s:%d", node, agent, n))
			mu.Unlock()
		})
	}
	a := nodeServer(t, "hotline-a", store, hook("a"))
	b := nodeServer(t, "hotline-b", store, hook("b"))
	phone := netip.MustParseAddr("203.0.113.50")
	if res := a.registerEdited(t, phone, phone, "1001", 1, nil); res.StatusCode != 200 {
		t.Fatalf("REGISTER: %d", res.StatusCode)
	}
	a.clock.Add(61 * time.Second)
	b.clock.Add(61 * time.Second)
	b.Registrar().Expire()
	a.Registrar().Expire()
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"a 1001:1", "b 1001:0"}; strings.Join(reports, ",") != strings.Join(want, ",") {
		t.Errorf("registration hooks = %v, want %v (the REGISTER at a, the expiry once, at b, which expired first)", reports, want)
	}
}

// The registrar's rules hold over the store: an out-of-order retransmission (same Call-ID,
// lower CSeq) changes nothing (RFC 3261 §10.3 step 7), an interval too brief gets 423 with
// Min-Expires, Contact: * needs Expires: 0 and then removes every contact.
func TestRegistrarRulesOverTheStore(t *testing.T) {
	s := nodeServer(t, "", nil)
	phone := netip.MustParseAddr("203.0.113.50")
	if res := s.registerEdited(t, phone, phone, "1001", 5, nil); res.StatusCode != 200 {
		t.Fatalf("REGISTER: %d", res.StatusCode)
	}
	s.clock.Add(10 * time.Second)
	if res := s.registerEdited(t, phone, phone, "1001", 3, nil); res.StatusCode != 200 {
		t.Fatalf("late retransmission: %d", res.StatusCode)
	}
	if got := s.Registrar().Contacts("1001"); len(got) != 1 || got[0].CSeq != 5 || !got[0].Expires.Equal(s.clock.Now().Add(50*time.Second)) {
		t.Errorf("after an older CSeq of the same Call-ID: %+v; want the CSeq 5 binding unchanged", got)
	}
	res := s.registerEdited(t, phone, phone, "1001", 6, func(raw string) string { return strings.Replace(raw, "Expires: 60", "Expires: 30", 1) })
	if res.StatusCode != 423 || headerValue(res, "Min-Expires") != "60" {
		t.Errorf("Expires 30 under min_expires 60: %d Min-Expires %q; want 423 Min-Expires 60", res.StatusCode, headerValue(res, "Min-Expires"))
	}
	if got := s.Registrar().Contacts("1001"); len(got) != 1 || got[0].CSeq != 5 {
		t.Errorf("a 423 changed the bindings: %+v", got)
	}
	// A second phone, then Contact: * with Expires 60 (refused) and with 0.
	other := netip.MustParseAddr("203.0.113.51")
	if res := s.registerEdited(t, other, other, "1001", 1, nil); res.StatusCode != 200 || len(res.GetHeaders("Contact")) != 2 {
		t.Fatalf("second phone: %d with %d contacts, want 200 listing both", res.StatusCode, len(res.GetHeaders("Contact")))
	}
	star := func(expires string) func(string) string {
		return func(raw string) string {
			raw = strings.Replace(raw, "Contact: <sip:1001@203.0.113.50:5070>", "Contact: *", 1)
			return strings.Replace(raw, "Expires: 60", "Expires: "+expires, 1)
		}
	}
	if res := s.registerEdited(t, phone, phone, "1001", 7, star("60")); res.StatusCode != 400 {
		t.Errorf("Contact * with Expires 60: %d, want 400", res.StatusCode)
	}
	if got := s.Registrar().Contacts("1001"); len(got) != 2 {
		t.Errorf("a refused Contact * removed bindings: %d left", len(got))
	}
	if res := s.registerEdited(t, phone, phone, "1001", 8, star("0")); res.StatusCode != 200 {
		t.Errorf("Contact * with Expires 0: %d", res.StatusCode)
	}
	if got := s.Registrar().Contacts("1001"); len(got) != 0 {
		t.Errorf("after Contact *: %d bindings left", len(got))
	}
}

// failingBindings is a store that is down.
type failingBindings struct{}

var errStoreDown = errors.New("store down (test)")

func (failingBindings) List(context.Context, string, time.Time) ([]Binding, error) {
	return nil, errStoreDown
}
func (failingBindings) Put(context.Context, Binding) error            { return errStoreDown }
func (failingBindings) Remove(context.Context, string, string) error  { return errStoreDown }
func (failingBindings) RemoveAll(context.Context, string) error       { return errStoreDown }
func (failingBindings) Count(context.Context, time.Time) (int, error) { return 0, errStoreDown }
func (failingBindings) Expire(context.Context, time.Time) ([]string, int, error) {
	return nil, 0, errStoreDown
}

// A store that fails: the REGISTER gets 500 with Retry-After and a log line saying what
// failed; a call to the agent finds it not reachable now (a warning), not unknown.
func TestRegistrarStoreDown(t *testing.T) {
	logs := &logBuffer{}
	s := nodeServer(t, "hotline-a", failingBindings{}, WithLogger(slog.New(slog.NewJSONHandler(logs, nil))))
	phone := netip.MustParseAddr("203.0.113.50")
	res := s.registerEdited(t, phone, phone, "1001", 1, nil)
	if res.StatusCode != 500 || headerValue(res, "Retry-After") == "" {
		t.Errorf("REGISTER with the store down: %d Retry-After %q; want 500 with a Retry-After", res.StatusCode, headerValue(res, "Retry-After"))
	}
	_, err := s.Originate(context.Background(), call.Target{Agent: "1001"}, call.OriginateOptions{})
	var de *call.DialError
	if !errors.As(err, &de) || !errors.Is(err, call.ErrUnreachable) {
		t.Errorf("Originate with the store down: %v; want a DialError, unreachable", err)
	}
	if _, err := s.resolve(context.Background(), call.Target{Agent: "1001"}); !errors.Is(err, ErrNotRegistered) || !errors.Is(err, errStoreDown) {
		t.Errorf("resolving with the store down: %v; want not registered, with the store's error", err)
	}
	out := logs.String()
	for _, want := range []string{`"msg":"REGISTER refused: registrations store failed"`, `"agent":"1001"`, "store down (test)",
		`"msg":"registrations unavailable: agent not reachable now"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}
