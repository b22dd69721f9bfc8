package sip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/sip/media"
)

// recordingTx is the INVITE's server transaction in unit tests: it keeps what hotline responds.
type recordingTx struct {
	mu        sync.Mutex
	responses []*sip.Response
}

func (tx *recordingTx) Respond(res *sip.Response) error {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	tx.responses = append(tx.responses, res)
	return nil
}

func (tx *recordingTx) OnCancel(sip.FnTxCancel) bool       { return true }
func (tx *recordingTx) OnTerminate(sip.FnTxTerminate) bool { return true }

func (tx *recordingTx) sent() []*sip.Response {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return append([]*sip.Response(nil), tx.responses...)
}

var errPortsInUse = errors.New("media: no free port in 10000-10001")

// unitServer is a Server for unit tests, with its clock.
type unitServer struct {
	*Server
	clock *fakeClock
}

// fakeClock is a time that moves when a test says.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// newUnitServer is a Server that has not been served: no listener, no socket. Its dialog
// layer has no client (nothing is sent in a dialog before the 200) and, unless a test says
// otherwise, the RTP port range is used up.
func newUnitServer(t testing.TB, opts ...Option) unitServer {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	all := append([]Option{
		WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), WithClock(clock.Now),
		WithCredentials(func(a string) (string, bool) { p, ok := testAgents[a]; return p, ok }),
	}, opts...)
	s, err := NewServer(Config{Addr: "127.0.0.1:5060", Realm: "hotline", RTPTimeout: 10 * time.Second}, all...)
	if err != nil {
		t.Fatal(err)
	}
	s.ctx = context.Background()
	s.dua = s.newDialogUAs()
	s.openMedia = func() (*media.Session, error) { return nil, errPortsInUse }
	return unitServer{s, clock}
}

const (
	sdpPCMU = "v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
	sdpG729 = "v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n"
	sdpJunk = "v=0\r\nthis is not sdp\r\n"
	// sdpSAVP is baresip's RTP/SAVP offer (menc=srtp-mand), its key replaced.
	sdpSAVP = "v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/SAVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n" +
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"
)

// invite is the text of an INVITE to user; extra is header lines ("Name: value\r\n") added,
// drop the names of headers to leave out.
func invite(user, extra, body string, drop ...string) string {
	headers := []string{
		"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-unit-1;rport",
		`From: "Caller" <sip:5551234@127.0.0.1:5070>;tag=caller-1`,
		"To: <sip:" + user + "@127.0.0.1>",
		"Call-ID: unit-1@127.0.0.1",
		"CSeq: 1 INVITE",
		"Contact: <sip:5551234@127.0.0.1:5070>",
		"Max-Forwards: 70",
		"Content-Type: application/sdp",
	}
	var b strings.Builder
	fmt.Fprintf(&b, "INVITE sip:%s@127.0.0.1:5060 SIP/2.0\r\n", user)
	for _, h := range headers {
		name, _, _ := strings.Cut(h, ":")
		keep := true
		for _, d := range drop {
			keep = keep && !strings.EqualFold(name, d)
		}
		if keep {
			b.WriteString(h + "\r\n")
		}
	}
	fmt.Fprintf(&b, "%sContent-Length: %d\r\n\r\n%s", extra, len(body), body)
	return b.String()
}

// overTLS is an INVITE as it arrives on TLS (its Via says so).
func overTLS(raw string) string {
	return strings.Replace(raw, "Via: SIP/2.0/UDP", "Via: SIP/2.0/TLS", 1)
}

func parseRequest(t testing.TB, raw string) *sip.Request {
	t.Helper()
	msg, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, raw)
	}
	req, ok := msg.(*sip.Request)
	if !ok {
		t.Fatalf("not a request: %s", raw)
	}
	return req
}

// digestAuthorization is an Authorization value answering challenge for an INVITE to uri.
func digestAuthorization(challenge, user, password, uri string) string {
	nonce := regexp.MustCompile(`nonce="([^"]+)"`).FindStringSubmatch(challenge)[1]
	ha1 := md5hex(user + ":hotline:" + password)
	ha2 := md5hex("INVITE:" + uri)
	resp := md5hex(fmt.Sprintf("%s:%s:%08x:%s:auth:%s", ha1, nonce, 1, "c0ffee", ha2))
	return fmt.Sprintf(`Digest username="%s", realm="hotline", nonce="%s", uri="%s", response="%s", algorithm=MD5, qop=auth, nc=00000001, cnonce="c0ffee"`,
		user, nonce, uri, resp)
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

func headerValue(res *sip.Response, name string) string {
	if h := res.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// Every way the SIP edge refuses a new INVITE, driven through handleInvite with a recording
// transaction: the status, reason phrase and headers a caller gets, and the count it adds.
func TestUnitInviteRejects(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	_, sdpErr := media.ParseSDP([]byte(sdpJunk))
	if sdpErr == nil {
		t.Fatal("the junk SDP parses")
	}
	const featureURI = "sip:*52@127.0.0.1:5060"
	cases := []struct {
		name   string
		server func(*testing.T) unitServer
		req    func(*Server) string
		later  time.Duration // how long after req the INVITE arrives
		status int
		reason string
		label  string
		// Warning and WWW-Authenticate as sent ("" for none); a challenge is checked by prefix.
		warning, challenge string
		stale              bool // the challenge says stale=true (RFC 2617 §3.2.1)
	}{
		{
			name:   "server shutting down",
			server: func(t *testing.T) unitServer { s := newUnitServer(t); s.closed = true; return s },
			req:    func(*Server) string { return invite("hotline", "", sdpPCMU) },
			status: 503, reason: "Service Unavailable", label: "shutting_down",
		},
		{
			name:   "malformed SDP says why",
			req:    func(*Server) string { return invite("hotline", "", sdpJunk) },
			status: 400, reason: "Bad Request", label: "bad_sdp",
			warning: fmt.Sprintf("399 hotline %q", sdpErr.Error()),
		},
		{
			name:   "no common codec",
			req:    func(*Server) string { return invite("hotline", "", sdpG729) },
			status: 488, reason: "Not Acceptable Here", label: "no_common_codec",
			warning: `305 hotline "no common codec: PCMU or PCMA required"`,
		},
		{
			name: "feature code with a wrong password",
			req: func(s *Server) string {
				authz := digestAuthorization(s.auth.Challenge(netip.MustParseAddr("127.0.0.1"), false), "1001", "guess", featureURI)
				return invite("*52", "Authorization: "+authz+"\r\n", sdpPCMU)
			},
			status: 403, reason: "Forbidden", label: "forbidden",
		},
		{
			name:   "feature code without credentials is challenged",
			req:    func(*Server) string { return invite("*52", "", sdpPCMU) },
			status: 401, reason: "Unauthorized", label: "challenged",
			challenge: `Digest realm="hotline", nonce="`,
		},
		{
			name: "feature code with an expired nonce is challenged as stale",
			req: func(s *Server) string {
				authz := digestAuthorization(s.auth.Challenge(netip.MustParseAddr("127.0.0.1"), false), "1001", "s3cret-1001", featureURI)
				return invite("*52", "Authorization: "+authz+"\r\n", sdpPCMU)
			},
			later:  6 * time.Minute, // the nonce lives 5
			status: 401, reason: "Unauthorized", label: "challenged",
			challenge: `Digest realm="hotline", nonce="`, stale: true,
		},
		{
			name:   "SRTP keys over udp are refused",
			req:    func(*Server) string { return invite("hotline", "", sdpSAVP) },
			status: 488, reason: "Not Acceptable Here", label: "srtp",
			warning: `399 hotline "SRTP keys are accepted only over TLS, or SRTP is off"`,
		},
		{
			name:   "SRTP required refuses a call on udp",
			server: func(t *testing.T) unitServer { s := newUnitServer(t); s.srtp.all = media.SRTPRequired; return s },
			req:    func(*Server) string { return invite("hotline", "", sdpPCMU) },
			status: 488, reason: "Not Acceptable Here", label: "srtp",
			warning: `399 hotline "SRTP required: call over TLS (sips: or ;transport=tls)"`,
		},
		{
			name:   "SRTP required refuses a plain offer on TLS",
			server: func(t *testing.T) unitServer { s := newUnitServer(t); s.srtp.all = media.SRTPRequired; return s },
			req:    func(*Server) string { return overTLS(invite("hotline", "", sdpPCMU)) },
			status: 488, reason: "Not Acceptable Here", label: "srtp",
			warning: `399 hotline "SRTP required: offer RTP/SAVP or a=crypto"`,
		},
		{
			name:   "an SRTP offer on TLS is admitted, then finds no RTP port",
			req:    func(*Server) string { return overTLS(invite("hotline", "", sdpSAVP)) },
			status: 503, reason: "Service Unavailable", label: "no_rtp_port",
		},
		{
			name:   "no Contact: the dialog layer refuses",
			req:    func(*Server) string { return invite("hotline", "", sdpPCMU, "Contact") },
			status: 400, reason: "Bad Request", label: "bad_request",
		},
		{
			name:   "RTP ports used up",
			req:    func(*Server) string { return invite("hotline", "", sdpPCMU) },
			status: 503, reason: "Service Unavailable", label: "no_rtp_port",
		},
		{
			name: "an agent's feature code passes digest, then finds no RTP port",
			req: func(s *Server) string {
				authz := digestAuthorization(s.auth.Challenge(netip.MustParseAddr("127.0.0.1"), false), "1001", "s3cret-1001", featureURI)
				return invite("*52", "Authorization: "+authz+"\r\n", sdpPCMU)
			},
			status: 503, reason: "Service Unavailable", label: "no_rtp_port",
		},
		{
			name:   "a late offer (no SDP) is admitted, then finds no RTP port",
			req:    func(*Server) string { return invite("hotline", "", "", "Content-Type") },
			status: 503, reason: "Service Unavailable", label: "no_rtp_port",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s unitServer
			if c.server != nil {
				s = c.server(t)
			} else {
				s = newUnitServer(t)
			}
			req := parseRequest(t, c.req(s.Server))
			s.clock.Add(c.later)
			rejected := counterValue(mRejected.WithLabelValues(c.label))
			invites4to6 := counterValue(mRequests.WithLabelValues("INVITE", fmt.Sprintf("%dxx", c.status/100)))

			tx := &recordingTx{}
			s.handleInvite(req, tx)

			got := tx.sent()
			if len(got) != 1 {
				t.Fatalf("%d responses, want one: %v", len(got), got)
			}
			res := got[0]
			if res.StatusCode != c.status || res.Reason != c.reason {
				t.Errorf("got %d %s, want %d %s", res.StatusCode, res.Reason, c.status, c.reason)
			}
			if w := headerValue(res, "Warning"); w != c.warning {
				t.Errorf("Warning %q, want %q", w, c.warning)
			}
			if ch := headerValue(res, "WWW-Authenticate"); c.challenge == "" && ch != "" || !strings.HasPrefix(ch, c.challenge) {
				t.Errorf("WWW-Authenticate %q, want one starting %q", ch, c.challenge)
			}
			if stale := strings.Contains(headerValue(res, "WWW-Authenticate"), "stale=true"); stale != c.stale {
				t.Errorf("challenge says stale=%v: %q", stale, headerValue(res, "WWW-Authenticate"))
			}
			if id := res.CallID(); id == nil || id.Value() != "unit-1@127.0.0.1" {
				t.Errorf("response Call-ID %v: not the INVITE's", id)
			}
			if d := counterValue(mRejected.WithLabelValues(c.label)) - rejected; d != 1 {
				t.Errorf("hotline_sip_invites_rejected_total{reason=%q} rose by %v, want 1", c.label, d)
			}
			if d := counterValue(mRequests.WithLabelValues("INVITE", fmt.Sprintf("%dxx", c.status/100))) - invites4to6; d != 1 {
				t.Errorf("hotline_sip_requests_total{method=INVITE,class=%dxx} rose by %v, want 1", c.status/100, d)
			}
			if s.ActiveCalls() != 0 {
				t.Errorf("a refused INVITE left %d calls", s.ActiveCalls())
			}
		})
	}
}

// An INVITE that is admitted rings (100, 180) on the same seam, and the handler's decision is
// its final answer; everything the call took is released.
func TestUnitInviteAcceptedRingsThenHandlerRejects(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	handled := make(chan string, 1)
	s := newUnitServer(t, WithHandler(func(ch call.Channel) {
		handled <- ch.Dialed() + " from " + ch.Caller().Number
		_ = ch.Hangup(call.CauseBusy)
	}))
	s.openMedia = s.newMediaSession // one loopback RTP socket, closed with the call
	tx := &recordingTx{}
	s.handleInvite(parseRequest(t, invite("hotline", "", sdpPCMU)), tx)
	select {
	case h := <-handled:
		if h != "hotline from 5551234" {
			t.Errorf("handler got %s", h)
		}
	default:
		t.Fatal("the handler never ran")
	}
	var codes []string
	for _, r := range tx.sent() {
		codes = append(codes, fmt.Sprint(r.StatusCode, " ", r.Reason))
	}
	if got := strings.Join(codes, ", "); got != "100 Trying, 180 Ringing, 486 Busy Here" {
		t.Errorf("responses %s, want 100 Trying, 180 Ringing, 486 Busy Here", got)
	}
	if s.ActiveCalls() != 0 {
		t.Errorf("%d calls left after the handler returned", s.ActiveCalls())
	}
}

// The one 481 path: a re-INVITE (through handleInvite), a BYE and an INFO for a dialog
// hotline does not have, each in either direction.
func TestUnitInDialogRequestsWithoutACallGet481(t *testing.T) {
	s := newUnitServer(t)
	for _, method := range []string{"INVITE", "BYE", "INFO"} {
		t.Run(method, func(t *testing.T) {
			raw := strings.Replace(invite("hotline", "", ""), "To: <sip:hotline@127.0.0.1>", "To: <sip:hotline@127.0.0.1>;tag=gone", 1)
			raw = strings.NewReplacer("INVITE sip:", method+" sip:", "CSeq: 1 INVITE", "CSeq: 2 "+method).Replace(raw)
			req := parseRequest(t, raw)
			rejected := counterValue(mRejected.WithLabelValues("no_dialog"))
			tx := &recordingTx{}
			if method == "INVITE" {
				s.handleInvite(req, tx)
			} else {
				_, err := s.dialogOf(req)
				if !errors.Is(err, ErrNoDialog) {
					t.Fatalf("dialogOf = %v, want ErrNoDialog", err)
				}
				s.reject(tx, req, err)
			}
			got := tx.sent()
			if len(got) != 1 || got[0].StatusCode != 481 || got[0].Reason != "Call/Transaction Does Not Exist" {
				t.Fatalf("responses %v, want one 481 Call/Transaction Does Not Exist", got)
			}
			if got[0].GetHeader("Warning") != nil {
				t.Errorf("481 carries a Warning: %v", got[0].GetHeader("Warning"))
			}
			want := 0.0
			if method == "INVITE" {
				want = 1 // hotline_sip_invites_rejected_total counts INVITEs only
			}
			if d := counterValue(mRejected.WithLabelValues("no_dialog")) - rejected; d != want {
				t.Errorf("no_dialog rejects rose by %v, want %v", d, want)
			}
		})
	}
}

// A re-INVITE to a live call whose new offer hotline cannot take keeps the call and gets the
// same refusals as ever: 400 with the SDP error, 488 without a Warning.
func TestUnitReInviteRejects(t *testing.T) {
	s := newUnitServer(t)
	id := sip.DialogIDMake("unit-1@127.0.0.1", "ours", "caller-1") // hotline's tag is the To tag
	s.dialogs[id] = &Channel{s: s.Server, id: id}
	_, sdpErr := media.ParseSDP([]byte(sdpJunk))
	for _, tc := range []struct {
		body, want, warning string
	}{
		{sdpJunk, "400 Bad Request", fmt.Sprintf("399 hotline %q", sdpErr.Error())},
		{sdpG729, "488 Not Acceptable Here", ""},
	} {
		raw := strings.NewReplacer("To: <sip:hotline@127.0.0.1>", "To: <sip:hotline@127.0.0.1>;tag=ours", "CSeq: 1", "CSeq: 2").Replace(invite("hotline", "", tc.body))
		tx := &recordingTx{}
		s.handleInvite(parseRequest(t, raw), tx)
		got := tx.sent()
		if len(got) != 1 || fmt.Sprint(got[0].StatusCode, " ", got[0].Reason) != tc.want {
			t.Errorf("re-INVITE got %v, want %s", got, tc.want)
			continue
		}
		if w := headerValue(got[0], "Warning"); w != tc.warning {
			t.Errorf("%s: Warning %q, want %q", tc.want, w, tc.warning)
		}
	}
}

// sippInvites are the INVITEs of the sipp scenarios in testdata, as sipp would send them.
func sippInvites(t testing.TB) [][]byte {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "sipp", "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sipp scenarios: %v", err)
	}
	cdata := regexp.MustCompile(`(?s)<!\[CDATA\[(.*?)\]\]>`)
	keyword := regexp.MustCompile(`\[[a-z_0-9]+\]`)
	values := map[string]string{
		"[service]": "hotline", "[remote_ip]": "127.0.0.1", "[remote_port]": "5060", "[transport]": "UDP",
		"[local_ip]": "127.0.0.1", "[local_port]": "5070", "[branch]": "z9hG4bK-seed", "[caller]": "sipp",
		"[pid]": "42", "[call_number]": "1", "[call_id]": "1-42@127.0.0.1", "[cseq]": "1",
		"[local_ip_type]": "4", "[media_ip_type]": "4", "[media_ip]": "127.0.0.1", "[media_port]": "6000",
		"[field0]": "1001", "[field1]": "s3cret-1001", "[field2]": "5990", "[field3]": "60",
	}
	var out [][]byte
	for _, file := range files {
		xml, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range cdata.FindAllSubmatch(xml, -1) {
			text := strings.TrimSpace(string(m[1]))
			if !strings.HasPrefix(text, "INVITE ") {
				continue
			}
			if strings.Contains(file, "feature") {
				text = strings.ReplaceAll(text, "[service]", "*52")
			}
			var lines []string
			for _, l := range strings.Split(text, "\n") {
				l = strings.TrimSpace(l)
				if l == "[last_To:]" { // a re-INVITE: hotline's tag from its 200
					l = "To: <sip:hotline@127.0.0.1:5060>;tag=hotline-1"
				} else if strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]") && !strings.Contains(l, " ") {
					continue // [authentication] and the like: nothing to answer here
				}
				lines = append(lines, keyword.ReplaceAllStringFunc(l, func(k string) string {
					if v, ok := values[k]; ok {
						return v
					}
					return k // [len], once the body is known
				}))
			}
			head, body, _ := strings.Cut(strings.Join(lines, "\r\n")+"\r\n", "\r\n\r\n")
			if body != "" {
				body = strings.TrimRight(body, "\r\n") + "\r\n"
			}
			head = strings.ReplaceAll(head, "[len]", fmt.Sprint(len(body)))
			out = append(out, []byte(head+"\r\n\r\n"+body))
		}
	}
	return out
}

// FuzzInvite: whatever arrives as an INVITE, hotline's INVITE handling does not panic and
// answers it exactly once with a final response (200-699) whose Warning, if any, is one
// header line. No RTP port is free for a new call, so only a re-INVITE to the one live call
// (the sipp scenarios' dialog) can get a 200, and that 200 carries SDP.
func FuzzInvite(f *testing.F) {
	seeds := sippInvites(f)
	if len(seeds) < 10 {
		f.Fatalf("only %d INVITEs in the sipp scenarios", len(seeds))
	}
	for _, raw := range seeds {
		f.Add(raw)
	}
	for _, raw := range tortureMessages(f) { // RFC 4475, INVITEs and all
		f.Add(raw)
	}
	f.Add([]byte(invite("hotline", "", sdpJunk)))
	f.Add([]byte(invite("hotline", "", sdpG729)))
	f.Add([]byte(invite("hotline", "", "", "Content-Type")))
	f.Add([]byte(invite("hotline", "", sdpPCMU, "Contact", "CSeq")))
	f.Add([]byte(invite("*52", `Authorization: Digest username="1001", realm="hotline", nonce="AAAA", uri="sip:*52@127.0.0.1", response="00"`+"\r\n", sdpPCMU)))
	f.Add([]byte(strings.Replace(invite("hotline", "", sdpPCMU), "To: <sip:hotline@127.0.0.1>", "To: <sip:hotline@127.0.0.1>;tag=x", 1)))
	f.Add([]byte("INVITE sip:hotline@127.0.0.1 SIP/2.0\r\nv: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-c\r\nf: <sip:a@b>;tag=1\r\nt: <sip:hotline@127.0.0.1>\r\ni: compact@test\r\nCSeq: 1 INVITE\r\nm: <sip:a@127.0.0.1>\r\nl: 0\r\n\r\n"))

	s := newUnitServer(f)
	// The live call the sipp scenarios' re-INVITEs belong to, with one RTP socket for the run.
	sess, err := s.newMediaSession()
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = sess.Close() })
	live := sip.DialogIDMake("1-42@127.0.0.1", "hotline-1", "42SIPpTag001")
	neg := media.Negotiation{Codec: media.PCMU, DTMFPayloadType: 101, Direction: "sendrecv"}
	s.dialogs[live] = &Channel{s: s.Server, log: s.log, id: live, sess: sess, neg: neg, sdpVer: 1, started: time.Now()}

	f.Fuzz(func(t *testing.T, raw []byte) {
		msg, err := sip.ParseMessage(raw)
		if err != nil {
			return
		}
		req, ok := msg.(*sip.Request)
		if !ok || req.Method != sip.INVITE {
			return
		}
		tx := &recordingTx{}
		s.handleInvite(req, tx)
		got := tx.sent()
		if len(got) != 1 {
			t.Fatalf("%d responses to one INVITE, want exactly one: %v", len(got), got)
		}
		res := got[0]
		if res.StatusCode < 200 || res.StatusCode > 699 || res.Reason == "" {
			t.Fatalf("answered %d %q", res.StatusCode, res.Reason)
		}
		if res.IsSuccess() {
			if id, _ := sip.DialogIDFromRequestUAS(req); id != live {
				t.Fatalf("%d for an INVITE outside the live call, with no RTP port free", res.StatusCode)
			}
			if len(res.Body()) == 0 || headerValue(res, "Content-Type") != "application/sdp" {
				t.Fatalf("a re-INVITE's 200 without SDP: %s", res)
			}
		}
		if w := headerValue(res, "Warning"); strings.ContainsAny(w, "\r\n") {
			t.Fatalf("Warning spans lines: %q", w)
		}
		if n := s.ActiveCalls(); n != 1 {
			t.Fatalf("%d calls, want the live one only", n)
		}
	})
}
