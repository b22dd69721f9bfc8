package center

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/pion/webrtc/v4"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/dashboard"
	"github.com/hotline-cc/hotline/webphone"
)

// newPhones makes the agents' browser phones (desk.browser_phone, native driver only). An
// agent's page registering or leaving counts as a phone registering or leaving: with it,
// auto-login agents log in and out as they do with SIP phones.
func (c *Center) newPhones() (*webphone.Phones, error) {
	cfg := c.cfg.Desk
	var ice []webrtc.ICEServer
	if len(cfg.STUN) > 0 {
		ice = append(ice, webrtc.ICEServer{URLs: cfg.STUN})
	}
	if len(cfg.TURN.URLs) > 0 {
		ice = append(ice, webrtc.ICEServer{URLs: cfg.TURN.URLs, Username: cfg.TURN.Username, Credential: cfg.TURN.Credential})
	}
	wc := webphone.Config{ICE: ice, RTPAddr: netip.MustParseAddr("127.0.0.1"), RingTimeout: c.cfg.SIP.RingTimeout.D(),
		ConnectTimeout: cfg.Connect(), PublicIP: cfg.PublicIP, Log: c.log,
		OnRegistration: func(agent string, online bool) {
			c.agents.Registered(agent, c.sipContacts(agent)+boolInt(online), c.room.Apply)
		}}
	return webphone.New(wc)
}

// sipContacts is how many SIP phones an agent has registered.
func (c *Center) sipContacts(agent string) int {
	if c.sip == nil {
		return 0
	}
	return len(c.sip.Registrar().Contacts(agent))
}

// webContacts is 1 when the agent's page is their phone now.
func (c *Center) webContacts(agent string) int {
	if c.phones == nil {
		return 0
	}
	return boolInt(c.phones.Registered(agent))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// agentDialer rings an agent's browser when their page is registered as their phone, their
// SIP phones otherwise; everything else (numbers, supervisors) goes to the SIP driver.
type agentDialer struct {
	sip   call.Dialer
	web   *webphone.Phones
	agent func(string) bool // a configured agent (supervisors' phones are SIP)
}

func (d agentDialer) Originate(ctx context.Context, to call.Target, opts call.OriginateOptions) (call.Channel, error) {
	if to.Agent != "" && d.agent(to.Agent) && d.web.Registered(to.Agent) {
		return d.web.Originate(ctx, to, opts)
	}
	return d.sip.Originate(ctx, to, opts)
}

// Resolve forwards attended transfers' dialog lookups to the SIP driver.
func (d agentDialer) Resolve(r call.Replaces) (string, bool) {
	if res, ok := d.sip.(call.DialogResolver); ok {
		return res.Resolve(r)
	}
	return "", false
}

var _ dashboard.Phones = (*live)(nil)

// RegisterPhone makes an agent's page their phone (dashboard.Phones).
func (l *live) RegisterPhone(agent string) (dashboard.PhoneLine, error) {
	if l.phones == nil {
		return nil, errors.New("the browser phone is off here (desk.browser_phone, or the Asterisk driver)")
	}
	if !l.isAgent(agent) {
		return nil, fmt.Errorf("%s is not a configured agent", agent)
	}
	line, err := l.phones.Register(agent)
	if err != nil {
		return nil, err
	}
	pl := &phoneLine{line: line, events: make(chan dashboard.PhoneEvent, 8)}
	go pl.forward()
	return pl, nil
}

// phoneLine is a webphone line as the dashboard's signalling sees it.
type phoneLine struct {
	line   *webphone.Line
	events chan dashboard.PhoneEvent
}

func (p *phoneLine) forward() {
	defer close(p.events)
	for ev := range p.line.Events() {
		p.events <- dashboard.PhoneEvent{Kind: ev.Kind, Call: ev.Call, SDP: ev.SDP, Caller: ev.From.Number, Reason: ev.Reason}
	}
}

func (p *phoneLine) Events() <-chan dashboard.PhoneEvent { return p.events }
func (p *phoneLine) Answer(id, sdp string) error         { return phoneErr(p.line.Answer(id, sdp)) }
func (p *phoneLine) Accept(id string) error              { return phoneErr(p.line.Accept(id)) }
func (p *phoneLine) Reject(id string) error              { return phoneErr(p.line.Reject(id)) }
func (p *phoneLine) Hangup(id string) error              { return phoneErr(p.line.Hangup(id)) }
func (p *phoneLine) Close()                              { p.line.Close() }

func phoneErr(err error) error {
	if errors.Is(err, webphone.ErrNoCall) {
		return fmt.Errorf("%w: %v", dashboard.ErrPhoneCall, err)
	}
	return err
}
