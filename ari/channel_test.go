package ari

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/ari/aritest"
	"github.com/hotline-cc/hotline/call"
)

// agentIdentity is what the center asks a channel for before it runs a feature code.
type agentIdentity interface{ Agent() string }

var _ agentIdentity = (*Channel)(nil)

var agentCases = []struct {
	what     string
	template string // DriverConfig.Endpoint
	name     string // Asterisk's channel name
	dir      string
	want     string
}{
	{"PJSIP endpoint", "PJSIP/%s", "PJSIP/1001-0000002a", "inbound", "1001"},
	{"chan_sip peer", "SIP/%s", "SIP/1001-00000003", "inbound", "1001"},
	{"id with '-'", "PJSIP/%s", "PJSIP/agent-7-0000002b", "inbound", "agent-7"},
	{"id with several '-'", "PJSIP/%s", "PJSIP/sales-east-1001-ffffffff", "inbound", "sales-east-1001"},
	{"prefix with '-'", "PJSIP/agent-%s", "PJSIP/agent-1001-00000010", "inbound", "1001"},
	{"other technology", "PJSIP/%s", "SIP/1001-00000003", "inbound", ""},
	{"technology prefix only", "SIP/%s", "PJSIP/1001-0000002a", "inbound", ""},
	{"the trace's caller under PJSIP", "PJSIP/%s", "SIP/caller-00000002", "inbound", ""},
	{"Local channel", "PJSIP/%s", "Local/1001@from-agents-00000001;2", "inbound", ""},
	{"no counter", "PJSIP/%s", "PJSIP/1001", "inbound", ""},
	{"counter not hex", "PJSIP/%s", "PJSIP/1001-0000002z", "inbound", ""},
	{"empty counter", "PJSIP/%s", "PJSIP/1001-", "inbound", ""},
	{"empty id", "PJSIP/%s", "PJSIP/-0000002a", "inbound", ""},
	{"no name", "PJSIP/%s", "", "inbound", ""},
	{"outbound leg to the agent", "PJSIP/%s", "PJSIP/1001-0000002c", "outbound", ""},
	{"template with a suffix", "PJSIP/%s@site", "PJSIP/site-0000002a", "inbound", ""},
	{"template with a suffix, agent-like name", "PJSIP/%s@site", "PJSIP/1001-0000002a", "inbound", ""},
}

func TestAgent(t *testing.T) {
	for _, tc := range agentCases {
		t.Run(tc.what, func(t *testing.T) {
			c := &Channel{d: &Driver{cfg: DriverConfig{Endpoint: tc.template}}, name: tc.name, dir: tc.dir}
			if got := c.Agent(); got != tc.want {
				t.Errorf("%s channel %q under endpoint %q: Agent() = %q, want %q", tc.dir, tc.name, tc.template, got, tc.want)
			}
		})
	}
}

// FuzzAgentFromName: every name Asterisk gives a channel of an agent's endpoint reads back as
// that agent, and any id read from an arbitrary name is the endpoint's part of it.
func FuzzAgentFromName(f *testing.F) {
	for _, tc := range agentCases {
		f.Add(tc.template, tc.name, "1001", uint32(42))
	}
	f.Fuzz(func(t *testing.T, template, name, id string, counter uint32) {
		if strings.Count(template, "%s") != 1 || strings.Contains(strings.Replace(template, "%s", "", 1), "%") {
			return // NewDriver refuses it, or Sprintf would not fill it as Asterisk's name shows it
		}
		if got := agentFromName(template, name); got != "" {
			prefix, _, _ := strings.Cut(template, "%s")
			counterHex, ok := strings.CutPrefix(name, prefix+got+"-")
			if !ok || !isHex(counterHex) {
				t.Fatalf("agentFromName(%q, %q) = %q: not the endpoint part of the name", template, name, got)
			}
		}
		_, after, _ := strings.Cut(template, "%s")
		if id == "" || after != "" {
			return
		}
		asterisk := fmt.Sprintf(template, id) + fmt.Sprintf("-%08x", counter)
		if got := agentFromName(template, asterisk); got != id {
			t.Fatalf("agentFromName(%q, %q) = %q, want %q", template, asterisk, got, id)
		}
	})
}

// The name comes from the StasisStart Asterisk sends: a call from agent 1001's phone carries
// the agent, a call from another endpoint does not, and hotline's own leg to an agent never
// does, even when its name matches the template (the trace's leg is SIP/agent-00000003).
func TestAgentFromStasisStart(t *testing.T) {
	type seen struct{ dialed, agent, leg string }
	got := make(chan seen, 3)
	var h *harness
	h = start(t, harnessOptions{driver: func(c *DriverConfig) { c.Endpoint = "SIP/%s" }}, func(ch call.Channel) {
		s := seen{dialed: ch.Dialed()}
		if a, ok := ch.(agentIdentity); ok {
			s.agent = a.Agent()
		}
		if ch.Dialed() == "1000" {
			leg, err := h.drv.Originate(ch.Context(), call.Target{Agent: "agent"}, call.OriginateOptions{RingTimeout: 5 * time.Second})
			if err != nil {
				t.Errorf("originate: %v", err)
			} else {
				s.leg = leg.(agentIdentity).Agent()
				_ = leg.Hangup(call.CauseNormal)
			}
		}
		got <- s
	})
	h.fake.SetAgent("agent", aritest.Answer)

	calls := []struct {
		name, dialed string
		want         seen
	}{
		{"SIP/1001-0000002a", "*50", seen{dialed: "*50", agent: "1001"}},
		{"PJSIP/1001-0000002a", "*51", seen{dialed: "*51"}},
		{"SIP/customer-7-00000031", "1000", seen{dialed: "1000", agent: "customer-7"}},
	}
	for _, c := range calls {
		if _, err := h.fake.InboundFrom(c.name, "1001", c.dialed); err != nil {
			t.Fatal(err)
		}
		if s := recv(t, got, "the handler"); s != c.want {
			t.Errorf("call from %s: handler saw %+v, want %+v", c.name, s, c.want)
		}
	}
	if n := len(h.fake.Requested("POST", "/ari/channels")); n != 1 {
		t.Errorf("originates = %d, want 1", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.fake.Wait(ctx, "every channel hung up", func() bool { return len(h.fake.Channels()) == 0 }); err != nil {
		t.Error(err)
	}
}
