package sip

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/call"
)

// rawExchange sends one datagram and returns the first final response, its status line first.
func rawExchange(t *testing.T, addr, msg string) string {
	t.Helper()
	return rawExchangeFrom(t, "", addr, msg)
}

// rawExchangeFrom is rawExchange from a socket bound to ip ("" any): loopback has all of
// 127/8, so tests can be several sources.
func rawExchangeFrom(t *testing.T, ip, addr, msg string) string {
	t.Helper()
	var local *net.UDPAddr
	if ip != "" {
		local = &net.UDPAddr{IP: net.ParseIP(ip)}
	}
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialUDP("udp", local, raddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg = strings.ReplaceAll(msg, "LOCAL", c.LocalAddr().String())
	msg = strings.ReplaceAll(strings.TrimLeft(msg, "\n"), "\n", "\r\n")
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return "no response: " + err.Error()
		}
		line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
		if strings.HasPrefix(line, "SIP/2.0 1") {
			continue // provisional
		}
		return line + "\n" + string(buf[:n])
	}
}

func request(method, extra, body string) string {
	return fmt.Sprintf(`
%[1]s sip:hotline@127.0.0.1 SIP/2.0
Via: SIP/2.0/UDP LOCAL;branch=z9hG4bK-%[2]d;rport
From: <sip:tester@127.0.0.1>;tag=t%[2]d
To: <sip:hotline@127.0.0.1>%[3]s
Call-ID: raw-%[2]d@test
CSeq: 1 %[1]s
Contact: <sip:tester@LOCAL>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: %[4]d

%[5]s`, method, time.Now().UnixNano(), extra, len(strings.ReplaceAll(body, "\n", "\r\n")), body)
}

func TestMidDialogAndOddRequests(t *testing.T) {
	srv := startServer(t, func(ch call.Channel) { t.Error("no call should reach the handler") })
	cases := []struct {
		name, msg, want string
	}{
		{"OPTIONS gets 200", request("OPTIONS", "", ""), "SIP/2.0 200"},
		{"BYE for an unknown dialog gets 481", request("BYE", ";tag=nope", ""), "SIP/2.0 481"},
		{"malformed SDP gets 400 saying why", request("INVITE", "", "v=0\nthis is not sdp\n"), "SIP/2.0 400"},
		{"feature code needs digest", strings.Replace(request("INVITE", "", "v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n"), "INVITE sip:hotline@", "INVITE sip:*52@", 1), "SIP/2.0 401"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := rawExchange(t, srv.addr, c.msg)
			if !strings.HasPrefix(got, c.want) {
				t.Errorf("got %s", got)
			}
		})
	}
	// Garbage does not stop the server: OPTIONS still answered afterwards.
	conn, _ := net.Dial("udp", srv.addr)
	for _, junk := range []string{"\x00\x01\x02", "INVITE\r\n\r\n", "SIP/2.0 200 OK\r\nVia: x\r\n\r\n", strings.Repeat("A", 3000)} {
		conn.Write([]byte(junk))
	}
	conn.Close()
	if got := rawExchange(t, srv.addr, request("OPTIONS", "", "")); !strings.HasPrefix(got, "SIP/2.0 200") {
		t.Errorf("after garbage: %s", got)
	}
}
