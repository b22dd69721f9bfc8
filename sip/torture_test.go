package sip

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/internal/sipptest"
)

// The RFC 4475 torture messages (testdata/torture, as sipgo keeps them: valid/ are §3.1.1,
// invalid/ are §3.1.2 and §3.3), each sent to a running server over UDP, and what hotline
// answers. "" is no answer: the message is a response (nothing answers a stray response), or
// sipgo's parser cannot read it and drops it (it cannot trust a Via to answer to; RFC 4475
// expects 400 for several of those — a sipgo limit, marked "dropped"). Where two answers are
// listed, the first is over UDP and the second over TCP (TestTortureMessagesTCP).
var tortureWant = map[string][]string{
	// §3.1.1 valid messages.
	"valid/dblreq":     {"401"}, // REGISTER followed by a spurious second one: the first is challenged
	"valid/esc01":      {"404"}, // INVITE to a user with escapes: reaches the call handler, which says 404
	"valid/esc02":      {"405"}, // RE%47IST%45R is not REGISTER (§3.1.1.4): a method hotline lacks, 405 + Allow
	"valid/escnull":    {"401"}, // REGISTER with %00 in the To user: challenged
	"valid/intmeth":    {"405"}, // an unknown method of odd characters: 405 + Allow
	"valid/lwsdisp":    {"200"}, // OPTIONS
	"valid/mpart01":    {"405"}, // MESSAGE: not a method hotline handles
	"valid/noreason":   {""},    // a response
	"valid/semiuri":    {"200"}, // OPTIONS to a user with a ; in it
	"valid/transports": {"200"}, // OPTIONS with Vias of many transports
	"valid/unreason":   {""},    // a response
	// A long INVITE: parsed and routed to the call handler, but its answers, which echo the
	// long headers, exceed sipgo's UDP MTU (RFC 3261 §18.1.1 wants TCP for those): none over
	// UDP, 404 from the handler over TCP.
	"valid/longreq": {"", "404"},
	// INVITE with odd whitespace: sipgo cannot find the From tag in "tag = 98asjd8" and its
	// transaction layer answers a stateless 400 (a sipgo limit, RFC-wise a valid message).
	"valid/wsinv": {"400"},

	// §3.1.2 invalid messages.
	"invalid/badaspec":   {""},    // dropped: unquoted display name with a comma
	"invalid/badbranch":  {"200"}, // OPTIONS with a branch without magic cookie: RFC 2543-style, served
	"invalid/baddate":    {"404"}, // a non-GMT Date is ignored: the call reaches the handler
	"invalid/baddn":      {""},    // dropped: unquoted display name with a comma
	"invalid/badinv01":   {""},    // dropped: Via ";;,;,,"
	"invalid/badvers":    {""},    // dropped: SIP/7.0
	"invalid/bcast":      {""},    // a response
	"invalid/bext01":     {"420"}, // Require of unknown extensions: 420 with Unsupported
	"invalid/bigcode":    {""},    // a response
	"invalid/clerr":      {""},    // dropped: Content-Length larger than the body
	"invalid/cparam01":   {"401"}, // REGISTER with an odd Contact parameter: challenged
	"invalid/cparam02":   {"401"},
	"invalid/escruri":    {"404"},     // escaped headers in the Request-URI are not acted on: the handler's 404
	"invalid/insuf":      {"400"},     // no Call-ID, From, To: 400 naming the first
	"invalid/inv2543":    {"400"},     // RFC 2543 INVITE without From tag: stateless 400 (sipgo)
	"invalid/invut":      {"400"},     // a body that is no SDP: 400 saying why
	"invalid/ltgtruri":   {""},        // dropped: <> around the Request-URI
	"invalid/lwsruri":    {""},        // dropped: whitespace in the Request-URI
	"invalid/lwsstart":   {""},        // dropped: two spaces in the request line
	"invalid/mcl01":      {"400", ""}, // two Content-Length values: 400; a stream cannot be framed: dropped
	"invalid/mismatch01": {"400"},     // OPTIONS with CSeq INVITE
	"invalid/mismatch02": {"405"},     // NEWMETHOD with CSeq INVITE: the method is checked first (405 + Allow)
	"invalid/multi01":    {"400"},     // two To and two From
	"invalid/ncl":        {""},        // dropped: negative Content-Length
	"invalid/novelsc":    {""},        // dropped: soap.beep Request-URI sipgo cannot parse
	"invalid/quotbal":    {""},        // dropped: unbalanced quotes
	"invalid/regaut01":   {"403"},     // REGISTER with an Authorization of an unknown scheme: refused, RequestBadFormat
	"invalid/regbadct":   {"401"},     // REGISTER with a bad Contact: challenged first
	"invalid/regescrt":   {"401"},
	"invalid/scalar02":   {""},    // dropped: Content-Length larger than 2^32
	"invalid/scalarlg":   {""},    // a response
	"invalid/sdp01":      {"404"}, // an SDP body with an unknown Accept: the call reaches the handler
	"invalid/test":       {""},    // dropped: no SIP version in the request line
	"invalid/trws":       {""},    // dropped: trailing space after SIP/2.0
	"invalid/unkscm":     {"416"}, // Request-URI of an unknown scheme (RFC 3261 §8.2.2.1)
	"invalid/unksm2":     {"400"}, // REGISTER To isbn: (no user)
	"invalid/zeromf":     {"483"}, // OPTIONS with Max-Forwards 0
}

// tortureMessages reads the corpus: name ("valid/dblreq") -> bytes as the RFC has them.
func tortureMessages(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "torture", "*", "*.dat"))
	if err != nil || len(files) < 40 {
		t.Fatalf("torture corpus: %d files, %v", len(files), err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(filepath.Dir(f))+"/"+strings.TrimSuffix(filepath.Base(f), ".dat")] = b
	}
	return out
}

var (
	topVia = regexp.MustCompile(`(?i)(?:^|\r\n)(?:via|v)\s*:\s*SIP\s*/\s*2\.0\s*/\s*([A-Za-z]+)\s+[^;,\s]+`)
	branch = regexp.MustCompile(`(?i)branch\s*=\s*[^;,\s]+`)
)

// answerable makes a request's answer come back to the test's socket rather than to the
// RFC's example hosts (RFC 3261 §18.2.2): its top Via gets rport (RFC 3581) and the
// transport it is sent over, and its branch a suffix, since many of the messages share one
// branch and sent-by (the server would take them for retransmissions of each other). The
// rest of the message is left as the RFC has it.
func answerable(msg []byte, network, name string) []byte {
	loc := topVia.FindSubmatchIndex(msg)
	if loc == nil || bytes.HasPrefix(msg, []byte("SIP/2.0 ")) {
		return msg
	}
	var out []byte
	out = append(out, msg[:loc[2]]...)
	out = append(out, strings.ToUpper(network)...)
	out = append(out, msg[loc[3]:loc[1]]...)
	out = append(out, ";rport"...)
	rest := msg[loc[1]:]
	// The branch of the same Via: before the next line that is not a continuation.
	end := len(rest)
	for i := 0; i+2 < len(rest); i++ {
		if rest[i] == '\r' && rest[i+1] == '\n' && rest[i+2] != ' ' && rest[i+2] != '\t' {
			end = i
			break
		}
	}
	if b := branch.FindIndex(rest[:end]); b != nil {
		out = append(out, rest[:b[1]]...)
		out = append(out, "."+strings.ReplaceAll(name, "/", "-")...)
		rest = rest[b[1]:]
	}
	return append(out, rest...)
}

// sendRaw sends msg over network to addr and returns the status code of the first final
// response, "" if none came within wait. A refused INVITE is acknowledged (RFC 3261
// §17.1.1.3), so that its transaction ends now rather than at Timer H.
func sendRaw(t *testing.T, network, addr string, msg []byte, wait time.Duration) string {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	var res string
	if network == "udp" {
		buf := make([]byte, 65535)
		for res == "" {
			n, err := c.Read(buf)
			if err != nil {
				return ""
			}
			if finalCode(string(buf[:n])) != "" {
				res = string(buf[:n])
			}
		}
	} else {
		r := bufio.NewReader(c)
		for res == "" {
			var head strings.Builder
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return ""
				}
				head.WriteString(line)
				if line == "\r\n" {
					break
				}
			}
			if finalCode(head.String()) != "" {
				res = head.String()
			}
		}
	}
	t.Logf("%s", strings.SplitN(res, "\r\n", 2)[0])
	if ack := ackFor(msg, []byte(res)); ack != nil {
		_, _ = c.Write(ack)
	}
	return finalCode(res)
}

// ackFor is the ACK for a non-2xx final response res to the INVITE raw, nil if raw is no
// INVITE hotline could parse.
func ackFor(raw, res []byte) []byte {
	m, err := newParser().ParseSIP(raw)
	req, ok := m.(*sip.Request)
	if err != nil || !ok || req.Method != sip.INVITE || req.Via() == nil || req.CSeq() == nil || req.From() == nil || req.CallID() == nil {
		return nil
	}
	mr, err := newParser().ParseSIP(res)
	r, ok := mr.(*sip.Response)
	if err != nil || !ok || r.To() == nil {
		return nil
	}
	return []byte(fmt.Sprintf("ACK %s SIP/2.0\r\nVia: %s\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		req.Recipient.String(), req.Via().Value(), req.From().Value(), r.To().Value(), req.CallID().Value(), req.CSeq().SeqNo))
}

// finalCode is the status code of a final response's status line at the start of s.
func finalCode(s string) string {
	line, _, _ := strings.Cut(s, "\r\n")
	f := strings.Fields(line)
	if len(f) < 2 || f[0] != "SIP/2.0" || strings.HasPrefix(f[1], "1") {
		return ""
	}
	return f[1]
}

// Every RFC 4475 torture message over UDP gets the answer tortureWant allows, and after all
// of them the server still answers OPTIONS and still takes a registered agent's call.
func TestTortureMessagesUDP(t *testing.T) {
	srv := startServer(t, func(ch call.Channel) { _ = ch.Hangup(call.CauseUnallocated) })
	msgs := tortureMessages(t)
	for name := range tortureWant {
		if _, ok := msgs[name]; !ok {
			t.Errorf("%s expected but not in testdata/torture", name)
		}
	}
	t.Run("corpus", func(t *testing.T) {
		for name, msg := range msgs {
			want, ok := tortureWant[name]
			if !ok {
				t.Errorf("%s: no expectation in tortureWant", name)
				continue
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel() // distinct branches (answerable): no message is another's retransmission
				tortureOne(t, srv.addr, name, msg, want)
			})
		}
	})
	stillServing(t, srv)
}

func tortureOne(t *testing.T, addr, name string, msg []byte, want []string) {
	wait := 2 * time.Second
	if len(want) == 1 && want[0] == "" {
		wait = 300 * time.Millisecond // a response: nothing comes back
	}
	got := sendRaw(t, "udp", addr, answerable(msg, "udp", name), wait)
	if got != want[0] {
		t.Errorf("answered %q, want %q", got, want[0])
	}
}

// Over TCP the framing (Content-Length) matters: the messages that lie about it, then a
// well-formed OPTIONS on a new connection.
func TestTortureMessagesTCP(t *testing.T) {
	srv := startServer(t, func(ch call.Channel) { _ = ch.Hangup(call.CauseUnallocated) })
	msgs := tortureMessages(t)
	for _, name := range []string{"invalid/clerr", "invalid/ncl", "invalid/mcl01", "invalid/scalar02", "invalid/zeromf", "invalid/mismatch01", "valid/lwsdisp", "valid/longreq"} {
		t.Run(name, func(t *testing.T) {
			got := sendRaw(t, "tcp", srv.addr, answerable(msgs[name], "tcp", name), 2*time.Second)
			want := tortureWant[name]
			// mcl01's two Content-Lengths: sipgo frames the stream by the first one or drops
			// it, depending on how the bytes arrive in reads (CI saw both); either is sound.
			if got != want[len(want)-1] && !(name == "invalid/mcl01" && got == want[0]) {
				t.Errorf("answered %q over TCP, want %q", got, want[len(want)-1])
			}
		})
	}
	if got := sendRaw(t, "tcp", srv.addr, []byte(strings.ReplaceAll(strings.TrimLeft(strings.ReplaceAll(request("OPTIONS", "", ""), "SIP/2.0/UDP", "SIP/2.0/TCP"), "\n"), "\n", "\r\n")), 2*time.Second); got != "200" {
		t.Fatalf("OPTIONS over TCP after the torture: %q", got)
	}
}

// stillServing: OPTIONS gets 200, and an agent who registers (sipp) is called on its phone
// (a sipp UAS that answers busy: the INVITE got there).
func stillServing(t *testing.T, srv *testServer) {
	t.Helper()
	if got := rawExchange(t, srv.addr, request("OPTIONS", "", "")); !strings.HasPrefix(got, "SIP/2.0 200") {
		t.Fatalf("OPTIONS after the torture: %s", got)
	}
	phone := sipptest.Start(t, sipptest.Options{Scenario: "uas_busy.xml"})
	sipptest.Start(t, sipptest.Options{Scenario: "register.xml", Target: srv.addr,
		Auth: [2]string{"1001", "s3cret-1001"}, Inject: [][]string{{"1001", "s3cret-1001", strconv.Itoa(phone.Port), "60"}}}).MustSucceed(t)
	if got := srv.Registrar().Contacts("1001"); len(got) != 1 {
		t.Fatalf("agent not registered after the torture: %+v", got)
	}
	if _, err := srv.Originate(context.Background(), call.Target{Agent: "1001"}, call.OriginateOptions{}); !errors.Is(err, call.ErrBusy) {
		t.Fatalf("calling the registered agent after the torture: %v, want its phone's busy", err)
	}
	phone.MustSucceed(t)
}

// exchangeAll sends one datagram and returns every response's status line that comes back
// within wait, provisional ones too.
func exchangeAll(t *testing.T, addr, msg string, wait time.Duration) []string {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg = strings.ReplaceAll(msg, "LOCAL", c.LocalAddr().String())
	msg = strings.ReplaceAll(strings.TrimLeft(msg, "\n"), "\n", "\r\n")
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	var lines []string
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return lines
		}
		line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
		head, _, _ := strings.Cut(string(buf[:n]), "\r\n\r\n")
		lines = append(lines, line)
		if !strings.HasPrefix(line, "SIP/2.0 1") {
			for _, h := range strings.Split(head, "\r\n")[1:] {
				if strings.HasPrefix(h, "Unsupported:") || strings.HasPrefix(h, "Warning:") {
					lines = append(lines, h)
				}
			}
			return lines
		}
	}
}

// The hostile-message blast's findings and RFC 3261's request checks, each one answer.
func TestHostileRequestsGetTheRightRefusal(t *testing.T) {
	srv := startServer(t, func(ch call.Channel) { t.Error("no call should reach the handler") })
	sdp := "v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n"
	cases := []struct {
		name, msg string
		want      []string // status lines (and Unsupported/Warning headers) in order
	}{
		{"CANCEL for no transaction gets 481 (RFC 3261 §9.2)", request("CANCEL", "", ""),
			[]string{"SIP/2.0 481 Call/Transaction Does Not Exist"}},
		{"INVITE whose CSeq says BYE gets 400, no 100 Trying first",
			strings.Replace(request("INVITE", "", sdp), "CSeq: 1 INVITE", "CSeq: 1 BYE", 1),
			[]string{"SIP/2.0 400 Bad Request: CSeq method does not match", `Warning: 399 hotline "CSeq method BYE in a INVITE request"`}},
		{"REGISTER whose CSeq says INVITE gets 400",
			strings.Replace(request("REGISTER", "", ""), "CSeq: 1 REGISTER", "CSeq: 1 INVITE", 1),
			[]string{"SIP/2.0 400 Bad Request: CSeq method does not match", `Warning: 399 hotline "CSeq method INVITE in a REGISTER request"`}},
		{"INVITE with Max-Forwards 0 gets 483", strings.Replace(request("INVITE", "", sdp), "Max-Forwards: 70", "Max-Forwards: 0", 1),
			[]string{"SIP/2.0 483 Too Many Hops"}},
		{"INVITE without From gets 400 naming it", strings.Replace(request("INVITE", "", sdp), "From: <sip:tester@127.0.0.1>;tag=t", "X-From: t", 1),
			[]string{"SIP/2.0 400 Bad Request: missing From header"}},
		{"INVITE without Call-ID gets 400 naming it", strings.Replace(request("INVITE", "", sdp), "Call-ID: raw-", "X-Call-ID: raw-", 1),
			[]string{"SIP/2.0 400 Bad Request: missing Call-ID header"}},
		{"INVITE requiring 100rel gets 420 with Unsupported", strings.Replace(request("INVITE", "", sdp), "Max-Forwards: 70", "Max-Forwards: 70\nRequire: 100rel, foo", 1),
			[]string{"SIP/2.0 420 Bad Extension", "Unsupported: 100rel, foo"}},
		{"OPTIONS with two To headers gets 400", strings.Replace(request("OPTIONS", "", ""), "Max-Forwards: 70", "Max-Forwards: 70\nTo: <sip:other@127.0.0.1>", 1),
			[]string{"SIP/2.0 400 Bad Request: more than one To header"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := exchangeAll(t, srv.addr, c.msg, 2*time.Second)
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(c.want, "\n  "))
			}
		})
	}
	if got := rawExchange(t, srv.addr, request("OPTIONS", "", "")); !strings.HasPrefix(got, "SIP/2.0 200") {
		t.Errorf("after the hostile requests: %s", got)
	}
}
