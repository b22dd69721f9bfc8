package aritest

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// Endpoints, hold and transfer, as Asterisk 22 with PJSIP sends them
// (ari/testdata/asterisk22). An agent set with SetAgent is registered (its endpoint online,
// device NOT_INUSE) until SetRegistered(agent, false).

// listEndpoints answers GET /endpoints/{tech}: every agent set, online unless unregistered,
// in the shape of asterisk22/endpoints.jsonl.
func (s *Server) listEndpoints(w http.ResponseWriter, r *http.Request) {
	tmpl := s.fx.list("endpoints.list")[0].(map[string]any)
	names := make([]string, 0, len(s.agents))
	for a := range s.agents {
		names = append(names, a)
	}
	sort.Strings(names)
	out := make([]any, 0, len(names))
	for _, a := range names {
		ep := clone(tmpl).(map[string]any)
		ep["technology"], ep["resource"], ep["state"] = r.PathValue("tech"), a, "online"
		if s.offline[a] {
			ep["state"] = "offline"
		}
		out = append(out, ep)
	}
	reply(w, http.StatusOK, out)
}

// subscribe answers POST /applications/{app}/subscription?eventSource=...
func (s *Server) subscribe(w http.ResponseWriter, r *http.Request) {
	src := r.URL.Query().Get("eventSource")
	s.subs = append(s.subs, src)
	_, body := s.fx.body("subscription")
	var devices []any
	for _, x := range s.subs {
		if d, ok := strings.CutPrefix(x, "deviceState:"); ok {
			devices = append(devices, d)
		}
	}
	body["device_names"], body["endpoint_ids"] = devices, []any{}
	reply(w, http.StatusOK, body)
}

// Subscriptions are the event sources the application subscribed to, in order.
func (s *Server) Subscriptions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.subs...)
}

// SetRegistered makes an agent's phone register (on) or unregister: DeviceStateChanged
// NOT_INUSE or UNAVAILABLE to an application subscribed to deviceState:PJSIP/<agent>, and while
// unregistered an originate to it fails 500 "Allocation failed".
func (s *Server) SetRegistered(agent string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offline[agent] = !on
	name := "DeviceStateChanged.online"
	if !on {
		name = "DeviceStateChanged.unavailable"
	}
	for _, src := range s.subs {
		if dev, ok := strings.CutPrefix(src, "deviceState:"); ok && strings.HasSuffix(dev, "/"+agent) {
			ev := s.fx.event(name)
			sub(ev, "device_state")["name"] = dev
			s.emit(ev)
		}
	}
}

// Hold is the phone's re-INVITE a=sendonly (on) or a=sendrecv: ChannelHold or ChannelUnhold.
func (c *Call) Hold(on bool) error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[c.ID]
	if ch == nil {
		return fmt.Errorf("aritest: channel %s is gone", c.ID)
	}
	name := "ChannelHold"
	if !on {
		name = "ChannelUnhold"
	}
	s.emit(s.channelEvent(name, ch))
	return nil
}

// Transfer is the phone sending REFER on a channel whose transfer handling is ari-only:
// ChannelTransfer with the target as requested destination. With consultation set (the
// channel id of the consultation call), it is an attended transfer: the traced Replaces
// (protocol_id and the from/to tags) and that channel as destination_channel.
func (c *Call) Transfer(target, consultation string) error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[c.ID]
	if ch == nil {
		return fmt.Errorf("aritest: channel %s is gone", c.ID)
	}
	name := "ChannelTransfer.blind"
	if consultation != "" {
		name = "ChannelTransfer.attended"
	}
	ev := s.fx.event(name)
	sub(sub(ev, "refer_to"), "requested_destination")["destination"] = target
	rb := sub(ev, "referred_by")
	rb["source_channel"] = clone(ch.snap)
	delete(rb, "connected_channel")
	if b := s.bridges[ch.bridge]; b != nil {
		rb["bridge"] = s.bridgeSnap(b)
		for _, m := range b.channels {
			if m != ch.id && s.channels[m] != nil {
				rb["connected_channel"] = clone(s.channels[m].snap)
			}
		}
	} else {
		delete(rb, "bridge")
	}
	rt := sub(ev, "refer_to")
	if cons := s.channels[consultation]; cons != nil {
		rt["destination_channel"] = clone(cons.snap)
	} else {
		delete(rt, "destination_channel")
		delete(rt, "connected_channel")
		delete(rt, "bridge")
	}
	s.emit(ev)
	return nil
}

var progressStates = map[string]bool{"channel_progress": true, "channel_answered": true, "channel_unavailable": true, "channel_declined": true}

// transferProgress answers POST /channels/{id}/transfer_progress?states=...
func (s *Server) transferProgress(w http.ResponseWriter, r *http.Request, ch *channel) {
	st := r.URL.Query().Get("states")
	if !progressStates[st] {
		s.replyFixture(w, "transfer_progress.400")
		return
	}
	s.progress[ch.id] = append(s.progress[ch.id], st)
	s.replyFixture(w, "transfer_progress.204")
}

// TransferProgress is what hotline reported with transfer_progress on a channel, in order.
func (s *Server) TransferProgress(channelID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.progress[channelID]...)
}
