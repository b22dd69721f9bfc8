package sip

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/hotline-cc/hotline/call"
)

// testClock is a clock the test moves by hand.
type testClock struct{ t time.Time }

func (c *testClock) now() time.Time         { return c.t }
func (c *testClock) add(d time.Duration)    { c.t = c.t.Add(d) }
func newTestClock() *testClock              { return &testClock{t: time.Unix(1_700_000_000, 0)} }
func quietLog() *slog.Logger                { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
func noCalls() int                          { return 0 }
func addr(s string) netip.Addr              { return netip.MustParseAddr(s) }
func testGate(l Limits, c *testClock) *gate { return newGate(l, c.now, noCalls, quietLog()) }
func admitN(g *gate, k kind, src string, n int) (ok int) {
	for range n {
		if g.admit(k, addr(src), true) == admitted {
			ok++
		}
	}
	return ok
}

func TestDefaultLimitsScaleWithCores(t *testing.T) {
	one, four := DefaultLimits(1), DefaultLimits(4)
	if one.InviteRate != 80 || four.InviteRate != 320 || four.MaxCalls != 2000 || four.MaxPending != 800 {
		t.Errorf("overall limits do not scale with cores: 1 core %+v, 4 cores %+v", one, four)
	}
	if one.SourceInviteRate != four.SourceInviteRate || one.SourceInviteBurst != 40 {
		t.Errorf("per-source limits must not depend on the server's cores: %+v vs %+v", one, four)
	}
	r := Limits{SourceInviteRate: 5, InviteRate: Unlimited}.resolved(2)
	if r.SourceInviteBurst != 5 || r.InviteRate != Unlimited || r.MaxCalls != 1000 {
		t.Errorf("resolved: a set rate's burst is one second's worth, off stays off, 0 is the default: %+v", r)
	}
}

// One source over its rate is refused; another source is not; the refused requests take
// nothing from the overall rate; the bucket refills with time.
func TestSourceRateIsPerSource(t *testing.T) {
	clk := newTestClock()
	g := testGate(Limits{SourceInviteRate: 10, SourceInviteBurst: 20, InviteRate: 50, InviteBurst: 50}, clk)
	if got := admitN(g, kindInvite, "192.0.2.1", 1000); got != 20 {
		t.Fatalf("flooding source: %d of 1000 INVITEs admitted at once, want its burst of 20", got)
	}
	if r := g.admit(kindInvite, addr("192.0.2.1"), true); r != reasonSourceRate {
		t.Errorf("refusal reason %q, want source_rate", reasonLabel[r])
	}
	// The overall bucket (50) lost only the 20 admitted: another source still gets its 20.
	if got := admitN(g, kindInvite, "192.0.2.2", 20); got != 20 {
		t.Errorf("second source: %d of 20 admitted while the first floods, want all", got)
	}
	if got := admitN(g, kindRegister, "192.0.2.1", 5); got != 5 {
		t.Errorf("REGISTERs from the INVITE flooder: %d of 5 admitted; each method has its own bucket", got)
	}
	clk.add(500 * time.Millisecond)
	if got := admitN(g, kindInvite, "192.0.2.1", 100); got != 5 {
		t.Errorf("after 0.5 s at 10/s the flooder gets %d, want 5", got)
	}
}

// The host itself (a local proxy) is exempt from per-source rates by default, not from the
// overall ones; the rest of 127/8 is not exempt.
func TestExemptSources(t *testing.T) {
	clk := newTestClock()
	g := testGate(Limits{SourceInviteRate: 1, SourceInviteBurst: 1, InviteRate: 50, InviteBurst: 50}, clk)
	if got := admitN(g, kindInvite, "127.0.0.1", 100); got != 50 {
		t.Errorf("127.0.0.1: %d of 100 admitted, want the overall burst of 50 (exempt from the per-source 1)", got)
	}
	clk.add(time.Second)
	if got := admitN(g, kindInvite, "127.0.0.2", 10); got != 1 {
		t.Errorf("127.0.0.2: %d of 10 admitted, want its own burst of 1", got)
	}
	g = testGate(Limits{SourceInviteRate: 1, SourceInviteBurst: 1, Exempt: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}}, clk)
	if got := admitN(g, kindInvite, "203.0.113.7", 10); got != 10 {
		t.Errorf("a configured trunk: %d of 10 admitted, want all", got)
	}
	if got := admitN(g, kindInvite, "127.0.0.1", 10); got != 1 {
		t.Errorf("127.0.0.1 with exempt set to a trunk only: %d of 10 admitted, want 1", got)
	}
}

func TestOverallRate(t *testing.T) {
	clk := newTestClock()
	g := testGate(Limits{SourceInviteRate: Unlimited, InviteRate: 100, InviteBurst: 100}, clk)
	total := 0
	for i := range 300 { // 300 sources, one INVITE each: only the overall limit applies
		total += admitN(g, kindInvite, fmt.Sprintf("198.51.100.%d", i%250), 1)
	}
	if total != 100 {
		t.Errorf("%d INVITEs from many sources admitted at once, want the overall burst of 100", total)
	}
	if r := g.admit(kindInvite, addr("203.0.113.9"), true); r != reasonRate {
		t.Errorf("reason %q, want rate", reasonLabel[r])
	}
	if got := admitN(g, kindOptions, "203.0.113.9", 3); got != 3 {
		t.Errorf("OPTIONS refused (%d of 3) because INVITEs are over their rate", got)
	}
}

func TestMaxCallsAndPending(t *testing.T) {
	clk := newTestClock()
	calls := 0
	g := newGate(Limits{MaxCalls: 3, MaxPending: 2}, clk.now, func() int { return calls }, quietLog())
	calls = 3
	if r := g.admit(kindInvite, addr("192.0.2.1"), true); r != reasonCalls {
		t.Errorf("INVITE at max_calls: %q, want calls", reasonLabel[r])
	}
	if r := g.admit(kindRegister, addr("192.0.2.1"), true); r != admitted {
		t.Errorf("REGISTER at max_calls: %q; agents must still register", reasonLabel[r])
	}
	calls = 0
	if !g.enter() || !g.enter() || g.enter() {
		t.Fatal("enter: want two pending admitted and the third refused")
	}
	if r := g.admit(kindInvite, addr("192.0.2.1"), false); r != reasonPending {
		t.Errorf("INVITE at max_pending: %q, want pending", reasonLabel[r])
	}
	ptx := &pendingTx{g: g, ServerTransaction: nopTx{}}
	if err := ptx.Respond(&sip.Response{StatusCode: 200}); err != nil {
		t.Fatal(err)
	}
	ptx.settle() // the handler's deferred settle after the answer: counted once
	if n := g.pending.Load(); n != 1 {
		t.Errorf("pending after one INVITE answered: %d, want 1", n)
	}
}

type nopTx struct{ sip.ServerTransaction }

func (nopTx) Respond(*sip.Response) error { return nil }

// A flood from ever new (spoofed) addresses recycles the table's entries: memory is bounded,
// and a source that keeps sending keeps its entry, so it stays refused.
func TestSourceTableIsBounded(t *testing.T) {
	clk := newTestClock()
	g := testGate(Limits{Sources: 100, SourceInviteRate: 1, SourceInviteBurst: 1, InviteRate: Unlimited}, clk)
	admitN(g, kindInvite, "192.0.2.1", 1)
	for i := range 100_000 {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		g.admit(kindInvite, ip, true)
		if i%50 == 0 {
			if r := g.admit(kindInvite, addr("192.0.2.1"), true); r != reasonSourceRate {
				t.Fatalf("after %d spoofed sources the flooder was forgotten (%q)", i, reasonLabel[r])
			}
		}
	}
	if n := len(g.sources.m); n > 100 {
		t.Errorf("source table holds %d entries, cap 100", n)
	}
	n := 0
	for e := g.sources.head; e != nil; e = e.next {
		n++
	}
	if n != len(g.sources.m) {
		t.Errorf("recency list has %d entries, map %d", n, len(g.sources.m))
	}
}

const rawInvite = "INVITE sip:hotline@127.0.0.1 SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 127.0.0.2:5070;branch=z9hG4bK-1;rport\r\n" +
	"v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-0\r\n" +
	"f: \"Flood\" <sip:flood@127.0.0.2>;tag=abc\r\n" +
	"To: \"x;tag=no\" <sip:hotline@127.0.0.1;tag=uri>\r\n" +
	"Call-ID: flood-1@127.0.0.2\r\n" +
	"CSeq: 7\r\n INVITE\r\n" +
	"Contact: <sip:flood@127.0.0.2:5070>\r\n" +
	"Content-Type: application/sdp\r\n" +
	"Content-Length: 4\r\n\r\nv=0\n"

// The stateless 503 carries what RFC 3261 §8.2.6 asks of a response, parsed back by sipgo.
func TestStatelessRefusal(t *testing.T) {
	out, ok := appendRefusal(nil, []byte(rawInvite), "hl503-x", 2)
	if !ok {
		t.Fatalf("no refusal built for\n%s", rawInvite)
	}
	msg, err := sip.NewParser().ParseSIP(out)
	if err != nil {
		t.Fatalf("the 503 does not parse: %v\n%s", err, out)
	}
	res := msg.(*sip.Response)
	if res.StatusCode != 503 || headerValue(res, "Retry-After") != "2" {
		t.Errorf("got %d, Retry-After %q; want 503 with Retry-After 2", res.StatusCode, headerValue(res, "Retry-After"))
	}
	if vias := res.GetHeaders("Via"); len(vias) != 2 || !strings.Contains(vias[0].Value(), "127.0.0.2:5070") {
		t.Errorf("Vias not copied in order: %v", vias)
	}
	if tag, _ := res.To().Params.Get("tag"); tag != "hl503-x" {
		t.Errorf("To tag %q, want hl503-x added (the request's To had none)", tag)
	}
	if res.CallID().Value() != "flood-1@127.0.0.2" || res.CSeq().SeqNo != 7 || res.CSeq().MethodName != sip.INVITE {
		t.Errorf("Call-ID %q, CSeq %v not copied", res.CallID().Value(), res.CSeq())
	}
	if _, ok := appendRefusal(nil, []byte("INVITE sip:x SIP/2.0\r\nVia: SIP/2.0/UDP a\r\n\r\n"), "t", 1); ok {
		t.Error("a request without From, To, Call-ID, CSeq got a refusal built; it should be dropped")
	}
}

func TestRawToTag(t *testing.T) {
	for _, c := range []struct{ msg, tag string }{
		{rawInvite, ""},
		{strings.Replace(rawInvite, ";tag=uri>", ";tag=uri>;tag=dlg1", 1), "dlg1"},
		{strings.Replace(rawInvite, "To: \"x;tag=no\" <sip:hotline@127.0.0.1;tag=uri>", "t: <sip:hotline@127.0.0.1>;x=1;tag=z9", 1), "z9"},
		{strings.Replace(rawInvite, "To: \"x;tag=no\" <sip:hotline@127.0.0.1;tag=uri>", "t: sip:hotline@127.0.0.1;tag=z9", 1), ""}, // sipgo reads no tag here either
	} {
		if tag, found := rawToTag([]byte(c.msg)); !found || string(tag) != c.tag {
			t.Errorf("tag %q (found %v), want %q in\n%s", tag, found, c.tag, c.msg)
		}
	}
}

// badOffer gets an admitted INVITE its 400 from the handler, with no call to wait for.
const badOffer = "v=0\nthis is not sdp\n"

// Through a real server: over its source's rate an INVITE gets 503 with Retry-After at once,
// over UDP (stateless) and TCP (the handler); the next source is served; in-dialog requests
// from the refused source are not refused; OPTIONS have their own limit.
func TestServerRefusesOverLimit(t *testing.T) {
	srv := startServerWith(t, func(ch call.Channel) { t.Error("no call expected") }, func(c *Config) {
		// Exempt none: the TCP part below comes from 127.0.0.1, exempt by default.
		c.Limits = Limits{SourceInviteRate: 1, SourceInviteBurst: 1, SourceOptionsRate: 1, Exempt: []netip.Prefix{}}
	})
	before := counterValue(refusedCounters[kindInvite][reasonSourceRate])
	if got := rawExchangeFrom(t, "127.0.0.2", srv.addr, request("INVITE", "", badOffer)); !strings.HasPrefix(got, "SIP/2.0 400") {
		t.Fatalf("first INVITE: want the handler's 400, got %s", got)
	}
	got := rawExchangeFrom(t, "127.0.0.2", srv.addr, request("INVITE", "", badOffer))
	if !strings.HasPrefix(got, "SIP/2.0 503") || !strings.Contains(got, "Retry-After: 2\r\n") || !strings.Contains(got, ";tag=hl503-") {
		t.Fatalf("second INVITE from the same source: want a stateless 503 with Retry-After and a To tag, got\n%s", got)
	}
	if d := counterValue(refusedCounters[kindInvite][reasonSourceRate]) - before; d != 1 {
		t.Errorf("hotline_sip_admission_refused_total{INVITE,source_rate} rose by %v, want 1", d)
	}
	if got := rawExchangeFrom(t, "127.0.0.3", srv.addr, request("INVITE", "", badOffer)); !strings.HasPrefix(got, "SIP/2.0 400") {
		t.Errorf("another source's INVITE: want 400 from the handler, got %s", got)
	}
	for _, m := range []string{"INVITE", "BYE"} { // in-dialog: a 481, never a 503
		if got := rawExchangeFrom(t, "127.0.0.2", srv.addr, request(m, ";tag=dlg", "")); !strings.HasPrefix(got, "SIP/2.0 481") {
			t.Errorf("in-dialog %s from the refused source: want 481, got %s", m, got)
		}
	}
	if got := rawExchangeFrom(t, "127.0.0.2", srv.addr, request("OPTIONS", "", "")); !strings.HasPrefix(got, "SIP/2.0 200") {
		t.Errorf("first OPTIONS: %s", got)
	}
	rawExchangeFrom(t, "127.0.0.2", srv.addr, request("OPTIONS", "", ""))
	if got := rawExchangeFrom(t, "127.0.0.2", srv.addr, request("OPTIONS", "", "")); !strings.HasPrefix(got, "SIP/2.0 503") {
		t.Errorf("third OPTIONS at 1/s, burst 2: want 503, got %s", got)
	}

	// TCP: refused by the handler stage, through the transaction.
	tcp := func() string {
		c, err := net.Dial("tcp", srv.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		msg := strings.ReplaceAll(request("INVITE", "", badOffer), "SIP/2.0/UDP LOCAL", "SIP/2.0/TCP "+c.LocalAddr().String())
		msg = strings.ReplaceAll(msg, "LOCAL", c.LocalAddr().String())
		msg = strings.ReplaceAll(strings.TrimLeft(msg, "\n"), "\n", "\r\n")
		_, _ = c.Write([]byte(msg))
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		buf := make([]byte, 8192)
		var all string
		for !strings.Contains(all, "SIP/2.0 4") && !strings.Contains(all, "SIP/2.0 5") {
			n, err := c.Read(buf)
			if err != nil {
				return "no response: " + err.Error() + all
			}
			all += string(buf[:n])
		}
		return all
	}
	tcp() // 127.0.0.1's one token over TCP
	if got := tcp(); !strings.Contains(got, "SIP/2.0 503") || !strings.Contains(got, "Retry-After: 2") {
		t.Errorf("second INVITE over TCP: want 503 with Retry-After, got\n%s", got)
	}
}

// BenchmarkRefuseInvite is the cost of refusing a flooding source's INVITE: the read filter's
// decision and the stateless 503 written to the socket. It must not allocate.
func BenchmarkRefuseInvite(b *testing.B) {
	clk := newTestClock()
	g := testGate(Limits{SourceInviteRate: 1, SourceInviteBurst: 1}, clk)
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	go func() { // drain, so the socket buffer never fills
		buf := make([]byte, 2048)
		for {
			if _, _, err := sink.ReadFromUDPAddrPort(buf); err != nil {
				return
			}
		}
	}()
	g.conn.Store(conn)
	props := sip.TransportReadProps{Transport: "UDP", LocalAddr: conn.LocalAddr(), RemoteAddr: sink.LocalAddr()}
	data := []byte(rawInvite)
	g.filter(props, data) // the one INVITE admitted
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if out, _ := g.filter(props, data); out != nil {
			b.Fatal("admitted")
		}
	}
}

// BenchmarkRefuseDecision is the decision alone, without the socket write.
func BenchmarkRefuseDecision(b *testing.B) {
	clk := newTestClock()
	g := testGate(Limits{SourceInviteRate: 1, SourceInviteBurst: 1}, clk)
	src := addr("192.0.2.1")
	g.admit(kindInvite, src, true)
	b.ReportAllocs()
	for b.Loop() {
		if g.admit(kindInvite, src, true) == admitted {
			b.Fatal("admitted")
		}
	}
}

// BenchmarkBuildRefusal is the stateless 503 built from the raw INVITE, without the write.
func BenchmarkBuildRefusal(b *testing.B) {
	data, buf := []byte(rawInvite), make([]byte, 0, 2048)
	b.ReportAllocs()
	for b.Loop() {
		out, ok := appendRefusal(buf[:0], data, "hl503-x", 2)
		if !ok || len(out) == 0 {
			b.Fatal("no refusal")
		}
	}
}

// FuzzRawRefusal feeds the read filter's raw-byte reading (it runs on every datagram before
// sipgo parses it): no input panics it, and for a request sipgo can parse, the stateless 503
// built from it parses too and answers the same Call-ID and CSeq.
func FuzzRawRefusal(f *testing.F) {
	f.Add([]byte(rawInvite))
	f.Add([]byte(strings.Replace(rawInvite, ";tag=uri>", ";tag=uri>;tag=dlg1", 1)))
	f.Add([]byte("REGISTER sip:127.0.0.1 SIP/2.0\r\nv: SIP/2.0/UDP 1.2.3.4\r\nf: <sip:a@b>;tag=1\r\nt: <sip:a@b>\r\ni: x\r\nCSeq: 1 REGISTER\r\n\r\n"))
	f.Add([]byte("ACK sip:x SIP/2.0\r\nTo: <sip:x>;tag=hl503-x\r\n\r\n"))
	f.Add([]byte("INVITE \r\n\r\n"))
	for _, to := range []string{"To: <sip:x@y>; tag = a1", "To: sip:x@y ; tag=a1", "To: <sip:x@y>;tag=a1;x=2", "To: <sip:x@y>;TAG=a1", "To: \"a;tag=b\" <sip:x@y>"} {
		f.Add([]byte(strings.Replace(rawInvite, "To: \"x;tag=no\" <sip:hotline@127.0.0.1;tag=uri>", to, 1)))
	}
	parser := sip.NewParser()
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, _ = rawKind(data)
		_, _ = rawToTag(data)
		out, ok := appendRefusal(nil, data, "hl503-x", 2)
		msg, err := parser.ParseSIP(data)
		if err != nil {
			return
		}
		req, isReq := msg.(*sip.Request)
		if !isReq || req.To() == nil {
			return
		}
		// A To tag the filter sees, sipgo must see too: a new INVITE the filter took for a
		// re-INVITE would skip the rate limits. (The other way round is harmless: sipgo reads a
		// tag in some malformed To values the filter does not, and such a "re-INVITE" is merely
		// held to its source's rate.)
		rawTag, _ := rawToTag(data)
		sipgoTag, _ := req.To().Params.Get("tag")
		if len(rawTag) > 0 && sipgoTag == "" {
			t.Fatalf("To tag: the filter reads %q, sipgo %q, in %q", rawTag, sipgoTag, data)
		}
		if !ok || req.CallID() == nil || req.CSeq() == nil || req.Via() == nil || req.From() == nil {
			return
		}
		resMsg, err := parser.ParseSIP(out)
		if err != nil {
			t.Fatalf("the 503 for a request sipgo parses does not parse: %v\nrequest:\n%q\n503:\n%q", err, data, out)
		}
		res, isRes := resMsg.(*sip.Response)
		if !isRes || res.StatusCode != 503 {
			t.Fatalf("not a 503: %q", out)
		}
		if res.CallID() == nil || res.CallID().Value() != req.CallID().Value() || res.CSeq() == nil || res.CSeq().SeqNo != req.CSeq().SeqNo {
			t.Fatalf("Call-ID or CSeq differ: request %q, 503 %q", data, out)
		}
	})
}
