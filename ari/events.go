package ari

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Key names what an event is about, for dispatch: "channel:<id>", "playback:<id>",
// "recording:<name>", "bridge:<id>" or "type:<event type>".
type Key string

func ChannelKey(id string) Key     { return Key("channel:" + id) }
func PlaybackKey(id string) Key    { return Key("playback:" + id) }
func RecordingKey(name string) Key { return Key("recording:" + name) }
func BridgeKey(id string) Key      { return Key("bridge:" + id) }
func TypeKey(eventType string) Key { return Key("type:" + eventType) }

// Event is one message from the ARI event WebSocket.
type Event interface {
	// EventType is the "type" field: StasisStart, ChannelDtmfReceived, ...
	EventType() string
	// Keys are the objects the event is about; Subscribe matches on them.
	Keys() []Key
}

// Message holds the fields every ARI event has.
type Message struct {
	Type        string `json:"type"`
	Application string `json:"application"`
	Timestamp   string `json:"timestamp"` // Asterisk's format; see ParseTime
	AsteriskID  string `json:"asterisk_id,omitempty"`
}

func (m *Message) EventType() string { return m.Type }

// StasisStart: a channel entered the application (an inbound call, or an originated leg that answered).
type StasisStart struct {
	Message
	Args           []string     `json:"args"`
	Channel        ChannelData  `json:"channel"`
	ReplaceChannel *ChannelData `json:"replace_channel,omitempty"`
}

// StasisEnd: a channel left the application; nothing more arrives for an inbound channel after it.
type StasisEnd struct {
	Message
	Channel ChannelData `json:"channel"`
}

// ChannelDtmfReceived: the far end sent a DTMF digit (reported at the end of the digit).
type ChannelDtmfReceived struct {
	Message
	Digit      string      `json:"digit"`
	DurationMs int64       `json:"duration_ms"`
	Channel    ChannelData `json:"channel"`
}

// ChannelStateChange: a channel's state changed (Ring -> Up on answer, Down -> Ringing ...).
type ChannelStateChange struct {
	Message
	Channel ChannelData `json:"channel"`
}

// ChannelHangupRequest: a hangup was asked for. Cause is absent (0) when the far end hung up.
type ChannelHangupRequest struct {
	Message
	Cause   int         `json:"cause,omitempty"`
	Soft    bool        `json:"soft,omitempty"`
	Channel ChannelData `json:"channel"`
}

// ChannelDestroyed: the channel is gone, with its Q.850 cause. For an originated leg that never
// answered this is how the attempt ends (cause 17 busy, 19 no answer, ...).
type ChannelDestroyed struct {
	Message
	Cause    int         `json:"cause"`
	CauseTxt string      `json:"cause_txt"`
	Channel  ChannelData `json:"channel"`
}

// Dial: progress of an originated (or dialplan-dialed) leg. Dialstatus is "" at the start,
// then RINGING, BUSY, ANSWER, NOANSWER, CHANUNAVAIL, CONGESTION, CANCEL ...
type Dial struct {
	Message
	Caller     *ChannelData `json:"caller,omitempty"`
	Peer       ChannelData  `json:"peer"`
	Forwarded  *ChannelData `json:"forwarded,omitempty"`
	Forward    string       `json:"forward"`
	Dialstring string       `json:"dialstring"`
	Dialstatus string       `json:"dialstatus"`
}

// PlaybackStarted and PlaybackFinished: a playback began or ended. A stopped playback and a
// finished one both end with state "done"; a playback cut by a hangup ends "failed".
type PlaybackStarted struct {
	Message
	Playback PlaybackData `json:"playback"`
}

type PlaybackFinished struct {
	Message
	Playback PlaybackData `json:"playback"`
}

// RecordingStarted, RecordingFinished and RecordingFailed follow a live recording. A caller
// hanging up while recording gives RecordingFinished state "done" and a stored file.
type RecordingStarted struct {
	Message
	Recording RecordingData `json:"recording"`
}

type RecordingFinished struct {
	Message
	Recording RecordingData `json:"recording"`
}

type RecordingFailed struct {
	Message
	Recording RecordingData `json:"recording"`
}

// ChannelEnteredBridge and ChannelLeftBridge: bridge membership changed.
type ChannelEnteredBridge struct {
	Message
	Bridge  BridgeData  `json:"bridge"`
	Channel ChannelData `json:"channel"`
}

type ChannelLeftBridge struct {
	Message
	Bridge  BridgeData  `json:"bridge"`
	Channel ChannelData `json:"channel"`
}

// ChannelHold and ChannelUnhold: the far end put the call on hold (a re-INVITE with
// a=sendonly or inactive) or took it off hold.
type ChannelHold struct {
	Message
	Channel    ChannelData `json:"channel"`
	MusicClass string      `json:"musicclass,omitempty"`
}

type ChannelUnhold struct {
	Message
	Channel ChannelData `json:"channel"`
}

// ChannelTransfer: a REFER arrived on a PJSIP channel whose transfer handling is "ari-only"
// (PJSIP_TRANSFER_HANDLING()); Asterisk answered it 202 and leaves the transfer to the
// application, which reports progress with POST /channels/{id}/transfer_progress.
type ChannelTransfer struct {
	Message
	State      string     `json:"state,omitempty"`
	ReferTo    ReferTo    `json:"refer_to"`
	ReferredBy ReferredBy `json:"referred_by"`
}

// EndpointStateChange: an endpoint went online (a phone registered) or offline. Asterisk
// sends it to applications subscribed to the endpoint (eventSource endpoint:PJSIP).
type EndpointStateChange struct {
	Message
	Endpoint EndpointData `json:"endpoint"`
}

// DeviceStateChanged: a device's state (deviceState:PJSIP/1001 subscription): NOT_INUSE,
// INUSE, BUSY, RINGING, ONHOLD ..., UNAVAILABLE while the endpoint has no contact.
type DeviceStateChanged struct {
	Message
	DeviceState struct {
		Name  string `json:"name"`
		State string `json:"state"`
	} `json:"device_state"`
}

// ContactStatusChange: a PJSIP contact was created, removed, or became (un)reachable.
type ContactStatusChange struct {
	Message
	Endpoint    EndpointData `json:"endpoint"`
	ContactInfo ContactInfo  `json:"contact_info"`
}

// Other is any event type hotline does not act on (ChannelVarset, BridgeDestroyed,
// ChannelConnectedLine, ...). The objects it names are still decoded for dispatch.
type Other struct {
	Message
	Channel   *ChannelData    `json:"channel,omitempty"`
	Bridge    *BridgeData     `json:"bridge,omitempty"`
	Playback  *PlaybackData   `json:"playback,omitempty"`
	Recording *RecordingData  `json:"recording,omitempty"`
	Raw       json.RawMessage `json:"-"`
}

func keys(typ string, ks ...Key) []Key {
	out := make([]Key, 0, len(ks)+1)
	out = append(out, TypeKey(typ))
	for _, k := range ks {
		if k != "" && k[len(k)-1] != ':' { // skip empty ids
			out = append(out, k)
		}
	}
	return out
}

func (e *StasisStart) Keys() []Key { return keys(e.Type, ChannelKey(e.Channel.ID)) }
func (e *StasisEnd) Keys() []Key   { return keys(e.Type, ChannelKey(e.Channel.ID)) }
func (e *ChannelDtmfReceived) Keys() []Key {
	return keys(e.Type, ChannelKey(e.Channel.ID))
}
func (e *ChannelStateChange) Keys() []Key {
	return keys(e.Type, ChannelKey(e.Channel.ID))
}
func (e *ChannelHangupRequest) Keys() []Key {
	return keys(e.Type, ChannelKey(e.Channel.ID))
}
func (e *ChannelDestroyed) Keys() []Key {
	return keys(e.Type, ChannelKey(e.Channel.ID))
}
func (e *Dial) Keys() []Key {
	ks := []Key{ChannelKey(e.Peer.ID)}
	if e.Caller != nil {
		ks = append(ks, ChannelKey(e.Caller.ID))
	}
	return keys(e.Type, ks...)
}
func (e *PlaybackStarted) Keys() []Key  { return keys(e.Type, PlaybackKey(e.Playback.ID)) }
func (e *PlaybackFinished) Keys() []Key { return keys(e.Type, PlaybackKey(e.Playback.ID)) }
func (e *RecordingStarted) Keys() []Key {
	return keys(e.Type, RecordingKey(e.Recording.Name))
}
func (e *RecordingFinished) Keys() []Key {
	return keys(e.Type, RecordingKey(e.Recording.Name))
}
func (e *RecordingFailed) Keys() []Key {
	return keys(e.Type, RecordingKey(e.Recording.Name))
}
func (e *ChannelEnteredBridge) Keys() []Key {
	return keys(e.Type, BridgeKey(e.Bridge.ID), ChannelKey(e.Channel.ID))
}
func (e *ChannelLeftBridge) Keys() []Key {
	return keys(e.Type, BridgeKey(e.Bridge.ID), ChannelKey(e.Channel.ID))
}
func (e *ChannelHold) Keys() []Key   { return keys(e.Type, ChannelKey(e.Channel.ID)) }
func (e *ChannelUnhold) Keys() []Key { return keys(e.Type, ChannelKey(e.Channel.ID)) }
func (e *ChannelTransfer) Keys() []Key {
	return keys(e.Type, ChannelKey(e.ReferredBy.SourceChannel.ID))
}
func (e *EndpointStateChange) Keys() []Key { return keys(e.Type) }
func (e *ContactStatusChange) Keys() []Key { return keys(e.Type) }
func (e *DeviceStateChanged) Keys() []Key  { return keys(e.Type) }
func (e *Other) Keys() []Key {
	var ks []Key
	if e.Channel != nil {
		ks = append(ks, ChannelKey(e.Channel.ID))
	}
	if e.Bridge != nil {
		ks = append(ks, BridgeKey(e.Bridge.ID))
	}
	if e.Playback != nil {
		ks = append(ks, PlaybackKey(e.Playback.ID))
	}
	if e.Recording != nil {
		ks = append(ks, RecordingKey(e.Recording.Name))
	}
	return keys(e.Type, ks...)
}

// ErrBadEvent is returned by DecodeEvent for a message that is not an ARI event.
var ErrBadEvent = errors.New("ari: not an ARI event")

// knownTypes are the event types decoded into their own struct (and counted by type).
var knownTypes = map[string]func() Event{
	"StasisStart":          func() Event { return new(StasisStart) },
	"StasisEnd":            func() Event { return new(StasisEnd) },
	"ChannelDtmfReceived":  func() Event { return new(ChannelDtmfReceived) },
	"ChannelStateChange":   func() Event { return new(ChannelStateChange) },
	"ChannelHangupRequest": func() Event { return new(ChannelHangupRequest) },
	"ChannelDestroyed":     func() Event { return new(ChannelDestroyed) },
	"Dial":                 func() Event { return new(Dial) },
	"PlaybackStarted":      func() Event { return new(PlaybackStarted) },
	"PlaybackFinished":     func() Event { return new(PlaybackFinished) },
	"RecordingStarted":     func() Event { return new(RecordingStarted) },
	"RecordingFinished":    func() Event { return new(RecordingFinished) },
	"RecordingFailed":      func() Event { return new(RecordingFailed) },
	"ChannelEnteredBridge": func() Event { return new(ChannelEnteredBridge) },
	"ChannelLeftBridge":    func() Event { return new(ChannelLeftBridge) },
	"ChannelHold":          func() Event { return new(ChannelHold) },
	"ChannelUnhold":        func() Event { return new(ChannelUnhold) },
	"ChannelTransfer":      func() Event { return new(ChannelTransfer) },
	"EndpointStateChange":  func() Event { return new(EndpointStateChange) },
	"ContactStatusChange":  func() Event { return new(ContactStatusChange) },
	"DeviceStateChanged":   func() Event { return new(DeviceStateChanged) },
}

// DecodeEvent parses one WebSocket message into its typed event; types hotline does not act
// on come back as *Other.
func DecodeEvent(data []byte) (Event, error) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadEvent, err)
	}
	if head.Type == "" {
		return nil, fmt.Errorf("%w: no type", ErrBadEvent)
	}
	mk, ok := knownTypes[head.Type]
	if !ok {
		o := &Other{Raw: append(json.RawMessage(nil), data...)}
		if err := json.Unmarshal(data, o); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrBadEvent, head.Type, err)
		}
		return o, nil
	}
	ev := mk()
	if err := json.Unmarshal(data, ev); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadEvent, head.Type, err)
	}
	return ev, nil
}

func metricType(typ string) string {
	if _, ok := knownTypes[typ]; ok {
		return typ
	}
	return "other"
}
