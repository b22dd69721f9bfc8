package sip

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"go.uber.org/goleak"

	"github.com/hotline-cc/hotline/call"
)

// unitLeg is a live inbound leg in a unit server: in s.dialogs under the dialog of invite()
// (hotline's tag "ours", the caller's "caller-1"), whose in-dialog requests are recorded.
type unitLeg struct {
	*Channel
	mu    sync.Mutex
	sent  []*sip.Request
	sentC chan *sip.Request
}

func newUnitLeg(t *testing.T, s unitServer) *unitLeg {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	id := sip.DialogIDMake("unit-1@127.0.0.1", "ours", "caller-1")
	l := &unitLeg{sentC: make(chan *sip.Request, 64)}
	l.Channel = &Channel{s: s.Server, log: s.log, id: id, dir: "inbound", ctx: ctx, cancel: cancel, sdpVer: 1, started: time.Now()}
	l.do = func(ctx context.Context, req *sip.Request) (*sip.Response, error) {
		l.mu.Lock()
		l.sent = append(l.sent, req)
		l.mu.Unlock()
		l.sentC <- req
		return sip.NewResponseFromRequest(req, 200, "OK", nil), nil
	}
	s.mu.Lock()
	s.dialogs[id] = l.Channel
	s.mu.Unlock()
	t.Cleanup(func() {
		cancel()
		s.untrack(id)
	})
	return l
}

// notified waits for the leg's next NOTIFY.
func (l *unitLeg) notified(t *testing.T) *sip.Request {
	t.Helper()
	select {
	case req := <-l.sentC:
		return req
	case <-time.After(2 * time.Second):
		t.Fatal("no NOTIFY")
		return nil
	}
}

// noNotify checks that nothing more was sent in the leg's dialog within a while.
func (l *unitLeg) noNotify(t *testing.T) {
	t.Helper()
	select {
	case req := <-l.sentC:
		t.Fatalf("unexpected %s: %s", req.Method, req.Body())
	case <-time.After(100 * time.Millisecond):
	}
}

// refer is the text of a REFER in invite()'s dialog, from the caller (CSeq cseq); referTo ""
// sends no Refer-To; extra is more header lines.
func refer(cseq int, referTo, extra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "REFER sip:hotline@127.0.0.1:5060 SIP/2.0\r\n")
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-refer-%d;rport\r\n", cseq)
	b.WriteString(`From: "Caller" <sip:5551234@127.0.0.1:5070>;tag=caller-1` + "\r\n")
	b.WriteString("To: <sip:hotline@127.0.0.1>;tag=ours\r\n")
	b.WriteString("Call-ID: unit-1@127.0.0.1\r\n")
	fmt.Fprintf(&b, "CSeq: %d REFER\r\n", cseq)
	b.WriteString("Contact: <sip:5551234@127.0.0.1:5070>\r\nMax-Forwards: 70\r\n")
	if referTo != "" {
		b.WriteString("Refer-To: " + referTo + "\r\n")
	}
	b.WriteString(extra + "Content-Length: 0\r\n\r\n")
	return b.String()
}

// parseHotline parses raw as hotline's listeners do (newParser: Refer-To left to hotline).
func parseHotline(t testing.TB, raw string) *sip.Request {
	t.Helper()
	msg, err := newParser().ParseSIP([]byte(raw))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, raw)
	}
	return msg.(*sip.Request)
}

// sendRefer hands a REFER to hotline and returns its one response.
func sendRefer(t *testing.T, s unitServer, raw string) *sip.Response {
	t.Helper()
	tx := &recordingTx{}
	s.handleRefer(parseHotline(t, raw), tx)
	got := tx.sent()
	if len(got) != 1 {
		t.Fatalf("%d responses to a REFER, want one: %v", len(got), got)
	}
	return got[0]
}

func status(res *sip.Response) string { return fmt.Sprint(res.StatusCode, " ", res.Reason) }

// takeTransfer reads the next request off the leg's Requests: it must be a transfer.
func takeTransfer(t *testing.T, reqs <-chan call.Request) call.TransferRequest {
	t.Helper()
	select {
	case r := <-reqs:
		tr, ok := r.(call.TransferRequest)
		if !ok {
			t.Fatalf("got %#v, want a TransferRequest", r)
		}
		return tr
	case <-time.After(2 * time.Second):
		t.Fatal("no TransferRequest")
		return call.TransferRequest{}
	}
}

// Every way hotline refuses a REFER, through the one reject path: status, reason, the
// Warning or Retry-After that says why, and the count in hotline_sip_refers_rejected_total.
func TestUnitReferRefusals(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const good = "<sip:1002@127.0.0.1>"
	cases := []struct {
		name string
		// setup prepares the leg and returns the REFER to refuse (nil leg: no dialog).
		setup   func(t *testing.T, s unitServer, l *unitLeg) string
		status  string
		label   string
		warning string // part of the Warning; "" for none
		retry   string // Retry-After; "" for none
	}{
		{
			name: "outside a dialog",
			setup: func(t *testing.T, s unitServer, l *unitLeg) string {
				return strings.Replace(refer(1, good, ""), "tag=ours", "tag=gone", 1)
			},
			status: "481 Call/Transaction Does Not Exist", label: "no_dialog",
		},
		{
			name:   "no Refer-To",
			setup:  func(t *testing.T, s unitServer, l *unitLeg) string { l.Requests(); return refer(1, "", "") },
			status: "400 Missing Refer-To", label: "bad_refer_to", warning: "no Refer-To header",
		},
		{
			name: "unparseable Refer-To",
			setup: func(t *testing.T, s unitServer, l *unitLeg) string {
				l.Requests()
				return refer(1, "<sip:pbx.example.com", "")
			},
			status: "400 Bad Refer-To", label: "bad_refer_to", warning: "'<' without '>'",
		},
		{
			name: "Refer-To without a user part",
			setup: func(t *testing.T, s unitServer, l *unitLeg) string {
				l.Requests()
				return refer(1, "<sip:pbx.example.com>", "")
			},
			status: "400 Bad Refer-To", label: "bad_refer_to", warning: "no user part",
		},
		{
			name: "two Refer-To",
			setup: func(t *testing.T, s unitServer, l *unitLeg) string {
				l.Requests()
				return refer(1, good, "Refer-To: <sip:1003@127.0.0.1>\r\n")
			},
			status: "400 Bad Refer-To", label: "bad_refer_to", warning: "2 Refer-To headers",
		},
		{
			name:   "nobody takes the leg's requests",
			setup:  func(t *testing.T, s unitServer, l *unitLeg) string { return refer(1, good, "") },
			status: "603 Decline", label: "no_consumer", warning: "transfers are not taken on this call",
		},
		{
			name: "a transfer is still under way",
			setup: func(t *testing.T, s unitServer, l *unitLeg) string {
				reqs := l.Requests()
				if res := sendRefer(t, s, refer(1, good, "")); res.StatusCode != 202 {
					t.Fatalf("first REFER: %s", status(res))
				}
				takeTransfer(t, reqs) // taken, never reported on
				return refer(2, "<sip:1003@127.0.0.1>", "")
			},
			status: "491 Request Pending", label: "transfer_pending",
		},
		{
			name: "a REFER storm",
			setup: func(t *testing.T, s unitServer, l *unitLeg) string {
				reqs := l.Requests()
				for i := 1; i <= referBurst; i++ {
					if res := sendRefer(t, s, refer(i, good, "")); res.StatusCode != 202 {
						t.Fatalf("REFER %d: %s", i, status(res))
					}
					takeTransfer(t, reqs).Report(call.TransferProgress{Status: 486})
					l.notified(t)
					s.clock.Add(time.Second)
				}
				return refer(referBurst+1, good, "")
			},
			status: "503 Service Unavailable", label: "too_many_refers", warning: "more than 10 REFERs in 1m0s",
			retry: "50", // the first of the ten came 10 s ago
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newUnitServer(t)
			l := newUnitLeg(t, s)
			raw := c.setup(t, s, l)
			before := counterValue(mReferRejected.WithLabelValues(c.label))
			res := sendRefer(t, s, raw)
			if status(res) != c.status {
				t.Fatalf("got %s, want %s", status(res), c.status)
			}
			if w := headerValue(res, "Warning"); c.warning == "" && w != "" || !strings.Contains(w, c.warning) {
				t.Errorf("Warning %q, want one saying %q", w, c.warning)
			}
			if r := headerValue(res, "Retry-After"); r != c.retry {
				t.Errorf("Retry-After %q, want %q", r, c.retry)
			}
			if d := counterValue(mReferRejected.WithLabelValues(c.label)) - before; d != 1 {
				t.Errorf("hotline_sip_refers_rejected_total{reason=%q} rose by %v, want 1", c.label, d)
			}
		})
	}
}

// After a storm is refused, a REFER a minute on is taken again: the limit is a window, and
// it keeps ten times whatever comes.
func TestUnitReferStormWindowMoves(t *testing.T) {
	s := newUnitServer(t)
	l := newUnitLeg(t, s)
	reqs := l.Requests()
	accepted := 0
	for i := 1; i <= 50; i++ {
		res := sendRefer(t, s, refer(i, "<sip:1002@127.0.0.1>", "Refer-Sub: false\r\n"))
		if res.StatusCode == 202 {
			accepted++
			takeTransfer(t, reqs).Report(call.TransferProgress{Status: 200})
		}
	}
	if accepted != referBurst {
		t.Fatalf("%d of 50 REFERs in one instant accepted, want %d", accepted, referBurst)
	}
	s.clock.Add(referWindow)
	if res := sendRefer(t, s, refer(51, "<sip:1002@127.0.0.1>", "Refer-Sub: false\r\n")); res.StatusCode != 202 {
		t.Fatalf("a minute later: %s, want 202", status(res))
	}
}

// A REFER that is taken: 202, the transfer as the phone asked for it, and each Report a
// NOTIFY of the implicit subscription (RFC 3515 §2.4.4) until the final one; later reports
// and reports after the leg ended send nothing. The next REFER is taken again.
func TestUnitReferReportsByNotify(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := newUnitServer(t)
	l := newUnitLeg(t, s)
	reqs := l.Requests()
	res := sendRefer(t, s, refer(7, "<sip:1002@127.0.0.1?Replaces=c1%40pbx%3Bto-tag%3Dours2%3Bfrom-tag%3Dph2>", ""))
	if status(res) != "202 Accepted" || headerValue(res, "Refer-Sub") != "" {
		t.Fatalf("got %s (Refer-Sub %q), want 202 Accepted", status(res), headerValue(res, "Refer-Sub"))
	}
	tr := takeTransfer(t, reqs)
	if tr.Target != "1002" || tr.TargetURI != "sip:1002@127.0.0.1?Replaces=c1%40pbx%3Bto-tag%3Dours2%3Bfrom-tag%3Dph2" {
		t.Errorf("transfer to %q (%q)", tr.Target, tr.TargetURI)
	}
	if tr.Replaces == nil || *tr.Replaces != (call.Replaces{CallID: "c1@pbx", ToTag: "ours2", FromTag: "ph2"}) {
		t.Errorf("Replaces %+v", tr.Replaces)
	}
	tr.Report(call.TransferProgress{Status: 100, Reason: "Trying"})
	tr.Report(call.TransferProgress{Status: 200}) // the reason phrase filled in
	for _, want := range []struct{ state, body string }{
		{"active;expires=60", "SIP/2.0 100 Trying\r\n"},
		{"terminated;reason=noresource", "SIP/2.0 200 OK\r\n"},
	} {
		n := l.notified(t)
		if n.Method != sip.NOTIFY {
			t.Fatalf("sent %s, want NOTIFY", n.Method)
		}
		for h, v := range map[string]string{"Event": "refer;id=7", "Subscription-State": want.state, "Content-Type": "message/sipfrag;version=2.0"} {
			if got := n.GetHeader(h); got == nil || got.Value() != v {
				t.Errorf("NOTIFY %s: %v, want %q", h, got, v)
			}
		}
		if string(n.Body()) != want.body {
			t.Errorf("NOTIFY body %q, want %q", n.Body(), want.body)
		}
		if n.Recipient.User != "5551234" || n.Recipient.Port != 5070 {
			t.Errorf("NOTIFY to %s, want the REFER's Contact", n.Recipient.String())
		}
	}
	tr.Report(call.TransferProgress{Status: 180})
	l.noNotify(t)

	res = sendRefer(t, s, refer(8, "<sip:1003@127.0.0.1>", ""))
	if res.StatusCode != 202 {
		t.Fatalf("a REFER after the last one's final report: %s, want 202", status(res))
	}
	tr = takeTransfer(t, reqs)
	l.cancel() // the leg ends
	tr.Report(call.TransferProgress{Status: 200})
	l.noNotify(t)
	select {
	case _, open := <-reqs:
		if open {
			t.Error("a request after the leg ended")
		}
	case <-time.After(time.Second):
		t.Error("Requests not closed when the leg ended")
	}
}

// A transfer the call path does not take within the wait gets its final NOTIFY from hotline:
// 503, and the leg is free for the next REFER.
func TestUnitReferUntakenGets503(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := newUnitServer(t)
	s.takeWait = 50 * time.Millisecond
	l := newUnitLeg(t, s)
	defer l.cancel()
	reqs := l.Requests() // registered, never read in time
	start := time.Now()
	if res := sendRefer(t, s, refer(1, "<sip:1002@127.0.0.1>", "")); res.StatusCode != 202 {
		t.Fatalf("REFER: %s", status(res))
	}
	n := l.notified(t)
	if el := time.Since(start); el < s.takeWait {
		t.Errorf("NOTIFY after %v, before the wait of %v", el, s.takeWait)
	}
	if string(n.Body()) != "SIP/2.0 503 Service Unavailable\r\n" || n.GetHeader("Subscription-State").Value() != "terminated;reason=noresource" {
		t.Errorf("NOTIFY %q (%s), want the final 503", n.Body(), n.GetHeader("Subscription-State").Value())
	}
	if res := sendRefer(t, s, refer(2, "<sip:1002@127.0.0.1>", "")); res.StatusCode != 202 {
		t.Fatalf("the next REFER: %s, want 202", status(res))
	}
	if tr := takeTransfer(t, reqs); tr.Target != "1002" {
		t.Errorf("target %q", tr.Target)
	}
}

// Refer-Sub: false (RFC 4488): the 202 says so and no NOTIFY is ever sent; the final report
// still frees the leg.
func TestUnitReferSubFalse(t *testing.T) {
	s := newUnitServer(t)
	l := newUnitLeg(t, s)
	reqs := l.Requests()
	res := sendRefer(t, s, refer(1, "<sip:1002@127.0.0.1>", "Refer-Sub: false\r\n"))
	if res.StatusCode != 202 || headerValue(res, "Refer-Sub") != "false" {
		t.Fatalf("got %s with Refer-Sub %q, want 202 with Refer-Sub: false", status(res), headerValue(res, "Refer-Sub"))
	}
	tr := takeTransfer(t, reqs)
	tr.Report(call.TransferProgress{Status: 100})
	tr.Report(call.TransferProgress{Status: 200})
	l.noNotify(t)
	if res := sendRefer(t, s, refer(2, "<sip:1002@127.0.0.1>", "Refer-Sub: false\r\n")); res.StatusCode != 202 {
		t.Fatalf("the next REFER: %s, want 202", status(res))
	}
}

// A report the phone cannot read is made one: a status out of range is a 500, a reason with
// line breaks is one line.
func TestUnitReferReportIsOneStatusLine(t *testing.T) {
	s := newUnitServer(t)
	l := newUnitLeg(t, s)
	reqs := l.Requests()
	sendRefer(t, s, refer(1, "<sip:1002@127.0.0.1>", ""))
	tr := takeTransfer(t, reqs)
	tr.Report(call.TransferProgress{Status: 180, Reason: "Ringing\r\nX-Evil: 1"})
	tr.Report(call.TransferProgress{Status: 7000})
	if n := l.notified(t); string(n.Body()) != "SIP/2.0 180 Ringing  X-Evil: 1\r\n" {
		t.Errorf("body %q", n.Body())
	}
	if n := l.notified(t); string(n.Body()) != "SIP/2.0 500 Server Internal Error\r\n" {
		t.Errorf("body %q", n.Body())
	}
}

// Resolve finds a live leg by the Replaces a phone names it with (RFC 3891 §3: to-tag is
// hotline's tag, from-tag the phone's), for an inbound leg and an outbound one, and takes
// the tags the other way round too; anything else is unknown.
func TestUnitResolveReplaces(t *testing.T) {
	s := newUnitServer(t)
	in := sip.DialogIDMake("in@pbx", "hot-in", "phone-in")     // inbound: hotline is the UAS
	out := sip.DialogIDMake("out@pbx", "phone-out", "hot-out") // outbound: the phone is the UAS
	s.dialogs[in] = &Channel{id: in, server: &sipgo.DialogServerSession{}}
	s.dialogs[out] = &Channel{id: out, client: &sipgo.DialogClientSession{}}
	for _, tc := range []struct {
		r    call.Replaces
		want string
	}{
		{call.Replaces{CallID: "in@pbx", ToTag: "hot-in", FromTag: "phone-in"}, in},
		{call.Replaces{CallID: "out@pbx", ToTag: "hot-out", FromTag: "phone-out"}, out},
		{call.Replaces{CallID: "in@pbx", ToTag: "phone-in", FromTag: "hot-in"}, in},     // swapped
		{call.Replaces{CallID: "out@pbx", ToTag: "phone-out", FromTag: "hot-out"}, out}, // swapped
		{call.Replaces{CallID: "other@pbx", ToTag: "hot-in", FromTag: "phone-in"}, ""},
		{call.Replaces{CallID: "in@pbx", ToTag: "hot-in", FromTag: "someone"}, ""},
		{call.Replaces{CallID: "in@pbx", ToTag: "hot-in"}, ""},
	} {
		id, ok := s.Resolve(tc.r)
		if id != tc.want || ok != (tc.want != "") {
			t.Errorf("Resolve(%+v) = %q, %v; want %q", tc.r, id, ok, tc.want)
		}
	}
}

// The 405 for a method hotline has no handler for lists those it has (RFC 3261 §8.2.1).
func TestUnitMethodNotAllowedSaysAllow(t *testing.T) {
	s := newUnitServer(t)
	raw := strings.NewReplacer("REFER sip:", "PUBLISH sip:", "CSeq: 1 REFER", "CSeq: 1 PUBLISH").Replace(refer(1, "", ""))
	req := parseHotline(t, raw)
	tx := &recordingTx{}
	s.reject(tx, req, errMethodNotAllowed(req.Method))
	res := tx.sent()[0]
	if status(res) != "405 Method Not Allowed" {
		t.Fatalf("got %s", status(res))
	}
	allow := headerValue(res, "Allow")
	for _, m := range []string{"INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "REGISTER", "INFO", "REFER"} {
		if !strings.Contains(allow, m) {
			t.Errorf("Allow %q lacks %s", allow, m)
		}
	}
}

// sdpDir is sdpPCMU with a direction attribute (none for "") and connection address.
func sdpDir(dir, addr string) string {
	body := strings.Replace(sdpPCMU, "c=IN IP4 127.0.0.1", "c=IN IP4 "+addr, 1)
	if dir != "" {
		body += "a=" + dir + "\r\n"
	}
	return body
}

// Re-INVITEs that put the call on hold and take it off (RFC 3264 §8.4: sendonly, inactive,
// or the old c=0.0.0.0) reach the call path as HoldRequests, once per change, each answered
// with the mirrored direction as before.
func TestUnitHoldRequests(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := newUnitServer(t)
	l := newUnitLeg(t, s)
	defer l.cancel()
	sess, err := s.newMediaSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	l.sess = sess
	reqs := l.Requests()
	cseq := 1
	reinvite := func(body, wantDir string) {
		t.Helper()
		cseq++
		raw := strings.NewReplacer("To: <sip:hotline@127.0.0.1>", "To: <sip:hotline@127.0.0.1>;tag=ours",
			"CSeq: 1 INVITE", fmt.Sprintf("CSeq: %d INVITE", cseq)).Replace(invite("hotline", "", body))
		tx := &recordingTx{}
		s.handleInvite(parseRequest(t, raw), tx)
		got := tx.sent()
		if len(got) != 1 || got[0].StatusCode != 200 {
			t.Fatalf("re-INVITE answered %v", got)
		}
		if !strings.Contains(string(got[0].Body()), "a="+wantDir) {
			t.Errorf("answer without a=%s:\n%s", wantDir, got[0].Body())
		}
	}
	expect := func(want ...bool) {
		t.Helper()
		for _, w := range want {
			select {
			case r := <-reqs:
				if h, ok := r.(call.HoldRequest); !ok || h.Hold != w {
					t.Fatalf("got %#v, want HoldRequest{Hold: %v}", r, w)
				}
			case <-time.After(time.Second):
				t.Fatalf("no HoldRequest{Hold: %v}", w)
			}
		}
		select {
		case r := <-reqs:
			t.Fatalf("unexpected %#v", r)
		case <-time.After(50 * time.Millisecond):
		}
	}
	reinvite(sdpDir("sendonly", "127.0.0.1"), "recvonly")
	expect(true)
	reinvite(sdpDir("sendonly", "127.0.0.1"), "recvonly") // no change: nothing told
	expect()
	reinvite(sdpDir("sendrecv", "127.0.0.1"), "sendrecv")
	expect(false)
	reinvite(sdpDir("inactive", "127.0.0.1"), "inactive")
	reinvite(sdpDir("", "127.0.0.1"), "sendrecv") // no direction is sendrecv
	reinvite(sdpDir("", "0.0.0.0"), "recvonly")   // RFC 2543 hold
	reinvite(sdpDir("", "127.0.0.1"), "sendrecv")
	expect(true, false, true, false)
	if l.sdpVer != 8 {
		t.Errorf("SDP version %d after 7 re-INVITEs, want 8", l.sdpVer)
	}
}
