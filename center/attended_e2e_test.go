package center

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/hotline-cc/hotline/internal/sipptest"
)

// softphone is agent 1001's phone for an attended transfer, written on sipgo because no
// scripted peer can send a REFER whose Replaces names another of its dialogs (sipp keeps one
// dialog a scenario; baresip 1.0 has no attended transfer). It answers the call hotline rings
// it with, calls a colleague through hotline with digest, and REFERs.
type softphone struct {
	t        *testing.T
	port     int
	cli      *sipgo.Client
	dsc      *sipgo.DialogServerCache
	dcc      *sipgo.DialogClientCache
	incoming chan *sipgo.DialogServerSession
	notifies chan string
}

func startSoftphone(t *testing.T, user string) *softphone {
	t.Helper()
	p := &softphone{t: t, port: sipptest.FreeUDPPort(t), incoming: make(chan *sipgo.DialogServerSession, 2), notifies: make(chan string, 8)}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(user), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	if p.cli, err = sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(p.port), sipgo.WithClientLogger(quiet)); err != nil {
		t.Fatal(err)
	}
	contact := sip.ContactHeader{Address: sip.Uri{User: user, Host: "127.0.0.1", Port: p.port}}
	p.dsc, p.dcc = sipgo.NewDialogServerCache(p.cli, contact), sipgo.NewDialogClientCache(p.cli, contact)
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		ds, err := p.dsc.ReadInvite(req, tx)
		if err != nil {
			return
		}
		if err := ds.RespondSDP(p.sdp()); err != nil {
			return
		}
		p.incoming <- ds
		<-ds.Context().Done()
	})
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = p.dsc.ReadAck(req, tx) })
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if p.dsc.ReadBye(req, tx) != nil {
			_ = p.dcc.ReadBye(req, tx)
		}
	})
	srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		p.notifies <- string(req.Body())
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go srv.ListenAndServe(ctx, "udp", fmt.Sprintf("127.0.0.1:%d", p.port))
	time.Sleep(100 * time.Millisecond)
	return p
}

// sdp offers or answers PCMU on a port nobody reads: this phone only signals.
func (p *softphone) sdp() []byte {
	return []byte(fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", p.port+2))
}

// call dials user@hotline as this phone's agent, with digest.
func (p *softphone) call(ctx context.Context, hotline, user, agent, password string) *sipgo.DialogClientSession {
	p.t.Helper()
	host, port, _ := strings.Cut(hotline, ":")
	var n int
	fmt.Sscan(port, &n)
	d, err := p.dcc.Invite(ctx, sip.Uri{User: user, Host: host, Port: n}, p.sdp(), sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		p.t.Fatal(err)
	}
	if err := d.WaitAnswer(ctx, sipgo.AnswerOptions{Username: agent, Password: password}); err != nil {
		p.t.Fatalf("calling %s: %v", user, err)
	}
	if err := d.Ack(ctx); err != nil {
		p.t.Fatal(err)
	}
	return d
}

// The attended transfer with a real phone: 1001's phone answers the caller, calls
// 1002 through hotline (the consultation: digest as 1001, bridged to 1002's sipp phone), then
// REFERs the first call with Replaces naming the second (RFC 3891). hotline answers 202,
// NOTIFYs 100 and 200, hangs up both of 1001's calls, and the caller's recording reaches 1002
// and comes back.
func TestAttendedTransferWithARealPhone(t *testing.T) {
	h := startHotline(t, fastSupport(t))
	phone := startSoftphone(t, "1001")
	colleague := sipptest.Start(t, sipptest.Options{Scenario: "uas", Args: []string{"-rtp_echo"}, Timeout: 60 * time.Second})
	registerPhone(t, h, "1001", "1001-demo", phone.port)
	time.Sleep(50 * time.Millisecond)
	registerPhone(t, h, "1002", "1002-demo", colleague.Port)
	caller := sipptest.Start(t, sipptest.Options{Scenario: "uac_voice.xml", Target: h.sipAddr, Service: "hotline",
		Pause: 8 * time.Second, Keys: map[string]string{"caller": "+8613800000035"}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var first *sipgo.DialogServerSession
	select {
	case first = <-phone.incoming:
	case <-ctx.Done():
		t.Fatal("hotline never rang 1001's phone")
	}
	time.Sleep(300 * time.Millisecond) // talking to the caller
	consult := phone.call(ctx, h.sipAddr, "1002", "1001", "1001-demo")
	waitJournal(t, h, "consulting 1002", 5*time.Second)

	// Replaces names the consultation dialog as 1001's phone has it (RFC 3891 §3).
	res := consult.InviteResponse
	toTag, _ := res.To().Params.Get("tag")
	fromTag, _ := consult.InviteRequest.From().Params.Get("tag")
	replaces := url.QueryEscape(fmt.Sprintf("%s;to-tag=%s;from-tag=%s", consult.InviteRequest.CallID().Value(), toTag, fromTag))
	refer := sip.NewRequest(sip.REFER, first.InviteRequest.Contact().Address)
	refer.AppendHeader(sip.NewHeader("Refer-To", fmt.Sprintf("<sip:1002@%s?Replaces=%s>", h.sipAddr, replaces)))
	refer.AppendHeader(sip.NewHeader("Referred-By", "<sip:1001@127.0.0.1>"))
	ans, err := first.Do(ctx, refer)
	if err != nil {
		t.Fatal(err)
	}
	if ans.StatusCode != 202 {
		t.Fatalf("REFER answered %d %s, want 202", ans.StatusCode, ans.Reason)
	}
	var frags []string
	for len(frags) < 2 {
		select {
		case f := <-phone.notifies:
			frags = append(frags, strings.TrimSpace(f))
		case <-ctx.Done():
			t.Fatalf("NOTIFYs so far %q, want 100 Trying and 200 OK", frags)
		}
	}
	if frags[0] != "SIP/2.0 100 Trying" || frags[1] != "SIP/2.0 200 OK" {
		t.Errorf("NOTIFY bodies %q, want 100 Trying then 200 OK", frags)
	}
	for name, d := range map[string]context.Context{"the first call": first.Context(), "the consultation": consult.Context()} {
		select {
		case <-d.Done():
		case <-time.After(5 * time.Second):
			t.Errorf("hotline did not hang up %s of 1001", name)
		}
	}
	caller.MustSucceed(t)
	colleague.MustSucceed(t)
	rec := h.waitCalls(t, 1, 10*time.Second)[0]
	j := strings.Join(rec.Queued, "; ")
	t.Logf("journal: %s", j)
	if !strings.Contains(j, "transferred to 1002 (attended)") || rec.Agent != "1002" {
		t.Fatalf("not transferred: agent %q, %s", rec.Agent, j)
	}
	m := regexp.MustCompile(`bridged 1002: (\d+) packets to the agent, (\d+) from the agent`).FindStringSubmatch(j)
	if m == nil || atoi(m[1]) < 100 || atoi(m[2]) < 100 {
		t.Errorf("the caller's audio did not cross to 1002 and back: %s", j)
	}
}
