package sip

import (
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/internal/sipptest"
)

func TestBehindNAT(t *testing.T) {
	uri := func(host string) sip.Uri { return sip.Uri{Scheme: "sip", User: "1001", Host: host, Port: 5060} }
	cases := []struct {
		mode, contact, source string
		want                  bool
	}{
		{NATAuto, "192.168.1.20", "203.0.113.7:41234", true},  // home router
		{NATAuto, "10.0.0.5", "198.51.100.1:5060", true},      // office NAT
		{NATAuto, "100.64.3.2", "198.51.100.1:1024", true},    // carrier-grade NAT
		{NATAuto, "fd00::20", "[2001:db8::1]:5060", true},     // unique-local IPv6
		{NATAuto, "192.168.1.20", "192.168.1.20:5062", false}, // same host: a LAN phone
		{NATAuto, "203.0.113.9", "203.0.113.7:5060", false},   // public Contact: the phone knows
		{NATAuto, "phone.example.com", "203.0.113.7:5060", false},
		{NATAuto, "192.168.1.20", "", false},
		{NATForce, "203.0.113.9", "203.0.113.7:5060", true},
		{NATOff, "192.168.1.20", "203.0.113.7:41234", false},
	}
	for _, c := range cases {
		s := &Server{cfg: Config{NAT: c.mode}}
		if got := s.behindNAT(uri(c.contact), c.source); got != c.want {
			t.Errorf("%s: contact %s from %s: behind NAT %v, want %v", c.mode, c.contact, c.source, got, c.want)
		}
	}
	if _, err := ParseNAT("maybe"); err == nil || !strings.Contains(err.Error(), "auto, force or off") {
		t.Errorf("ParseNAT(maybe) = %v", err)
	}
}

// An agent's softphone behind NAT registers its private address, which nobody can reach.
// The INVITE, ACK and BYE go where its REGISTER came from, and its RTP goes where its RTP
// comes from: the bridge carries audio both ways and the caller's BYE ends the agent leg.
func TestAgentPhoneBehindNAT(t *testing.T) {
	type result struct {
		remote  string
		latched bool
		sent    uint64
		err     error
	}
	done := make(chan result, 1)
	agentRTP := make(chan netip.AddrPort, 1)
	srv := startServerWith(t, func(ch call.Channel) {
		ctx := ch.Context()
		var r result
		defer func() { done <- r }()
		if r.err = ch.Answer(ctx); r.err != nil {
			return
		}
		// The server through the channel, not srv: that is assigned on the test's goroutine.
		agent, err := ch.(*Channel).s.Originate(ctx, call.Target{Agent: "1001"}, call.OriginateOptions{CallerID: ch.Caller(), RingTimeout: 5 * time.Second})
		if err != nil {
			r.err = err
			return
		}
		sess := agent.(*Channel).sess
		agentRTP <- sess.LocalAddr()
		_, r.err = ch.Bridge(ctx, agent)
		r.remote, r.latched, r.sent = sess.Remote().String(), sess.Latched(), sess.Stats().PacketsSent
		if err := agent.Hangup(call.CauseNormal); err != nil && r.err == nil {
			r.err = fmt.Errorf("agent hangup: %w", err)
		}
	}, func(c *Config) { c.SymmetricRTP = true })

	phone := sipptest.Start(t, sipptest.Options{Scenario: "nat_phone.xml", Target: srv.addr,
		Auth: [2]string{"1001", "s3cret-1001"}, Inject: [][]string{{"1001", "x", "300"}},
		Pause: 12 * time.Second, Args: []string{"-oocsf", filepath.Join(sipptest.Dir(), "nat_phone_answer.xml")}})
	deadline := time.Now().Add(5 * time.Second)
	for len(srv.Registrar().Contacts("1001")) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the phone never registered\n%s", phone.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if b := srv.Registrar().Contacts("1001")[0]; b.Contact.Host != "10.20.30.40" {
		t.Fatalf("binding %+v, want the private Contact kept as given", b)
	}

	caller := sipptest.Start(t, sipptest.Options{Scenario: "uac_voice.xml", Target: srv.addr, Service: "hotline",
		Pause: 3 * time.Second})
	// The phone talks from its RTP port; the router maps it to another address than the SDP's.
	var leg netip.AddrPort
	select {
	case leg = <-agentRTP:
	case <-time.After(15 * time.Second):
		t.Fatalf("the agent was never reached\ncaller:\n%s\nphone:\n%s", caller.Log(), phone.Log())
	}
	rtpPhone, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rtpPhone.Close()
	heard := make(chan int, 1)
	go func() {
		n, buf := 0, make([]byte, 1500)
		for {
			_ = rtpPhone.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := rtpPhone.Read(buf); err != nil {
				heard <- n
				return
			}
			n++
		}
	}()
	for seq := range uint16(100) {
		b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 160, SSRC: 77},
			Payload: make([]byte, 160)}).Marshal()
		if _, err := rtpPhone.WriteToUDPAddrPort(b, leg); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	var r result
	select {
	case r = <-done:
	case <-time.After(25 * time.Second):
		t.Fatalf("bridge never ended\ncaller:\n%s\nphone:\n%s", caller.Log(), phone.Log())
	}
	if r.err != nil {
		t.Fatalf("handler: %v\ncaller:\n%s\nphone:\n%s", r.err, caller.Log(), phone.Log())
	}
	caller.MustSucceed(t)
	want := rtpPhone.LocalAddr().String()
	if !r.latched || r.remote != want {
		t.Errorf("agent leg sends RTP to %s (latched %v), want the phone's source %s", r.remote, r.latched, want)
	}
	if got := <-heard; got < 50 {
		t.Errorf("the phone heard %d packets (the agent leg sent %d), want the caller's audio", got, r.sent)
	}
	msgs := phone.Messages()
	for _, m := range []string{"INVITE sip:1001@10.20.30.40", "ACK sip:1001@10.20.30.40", "BYE sip:1001@10.20.30.40"} {
		if !strings.Contains(msgs, m) {
			t.Errorf("the phone never received %q\n%s", m, phone.Log())
		}
	}
	t.Logf("agent leg latched to %s, %d packets sent to it", r.remote, r.sent)
}
