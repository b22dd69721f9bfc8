package ari

import "time"

// The JSON objects of the ARI data model that hotline reads, with the fields seen in the
// Asterisk 20 traces (ari/testdata). Fields hotline does not use are left out.

// CallerID is a caller or connected-line identity.
type CallerID struct {
	Name   string `json:"name"`
	Number string `json:"number"`
}

// Dialplan is a channel's dialplan location.
type Dialplan struct {
	Context  string `json:"context"`
	Exten    string `json:"exten"`
	Priority int64  `json:"priority"`
	AppName  string `json:"app_name"`
	AppData  string `json:"app_data"`
}

// ChannelData is a snapshot of an Asterisk channel.
type ChannelData struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	State        string   `json:"state"` // Down, Rsrved, OffHook, Dialing, Ring, Ringing, Up, Busy, ...
	ProtocolID   string   `json:"protocol_id,omitempty"`
	Caller       CallerID `json:"caller"`
	Connected    CallerID `json:"connected"`
	AccountCode  string   `json:"accountcode"`
	Dialplan     Dialplan `json:"dialplan"`
	CreationTime string   `json:"creationtime"`
	Language     string   `json:"language"`
}

// PlaybackData is a playback of media on a channel or bridge.
type PlaybackData struct {
	ID        string `json:"id"`
	MediaURI  string `json:"media_uri"`
	TargetURI string `json:"target_uri"`
	Language  string `json:"language,omitempty"`
	State     string `json:"state"` // queued, playing, continuing, done, failed (a stopped playback is "done")
}

// RecordingData is a live recording (and, in RecordingFinished, its result).
type RecordingData struct {
	Name            string `json:"name"`
	Format          string `json:"format"`
	State           string `json:"state"` // queued, recording, paused, done, failed, canceled
	TargetURI       string `json:"target_uri"`
	Duration        int64  `json:"duration,omitempty"`         // seconds
	TalkingDuration int64  `json:"talking_duration,omitempty"` // seconds
	SilenceDuration int64  `json:"silence_duration,omitempty"` // seconds
	Cause           string `json:"cause,omitempty"`            // why a recording failed
}

// StoredRecording is a finished recording kept by Asterisk.
type StoredRecording struct {
	Name   string `json:"name"`
	Format string `json:"format"`
}

// BridgeData is a snapshot of a bridge.
type BridgeData struct {
	ID           string   `json:"id"`
	Technology   string   `json:"technology"`
	BridgeType   string   `json:"bridge_type"`
	BridgeClass  string   `json:"bridge_class"`
	Creator      string   `json:"creator"`
	Name         string   `json:"name"`
	Channels     []string `json:"channels"`
	CreationTime string   `json:"creationtime"`
	VideoMode    string   `json:"video_mode,omitempty"`
}

// TimeLayout is how Asterisk writes timestamps ("2026-11-23T01:16:37.180+0000").
const TimeLayout = "2006-01-02T15:04:05.000-0700"

// ParseTime reads an Asterisk timestamp; the zero time when it is malformed.
func ParseTime(s string) time.Time {
	for _, layout := range []string{TimeLayout, time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// EndpointData is an ARI Endpoint: PJSIP/1001 is technology PJSIP, resource 1001. State is
// "online" while it has a registered (or static) contact, "offline" otherwise, "unknown"
// for an endpoint Asterisk has not seen yet.
type EndpointData struct {
	Technology string   `json:"technology"`
	Resource   string   `json:"resource"`
	State      string   `json:"state,omitempty"`
	ChannelIDs []string `json:"channel_ids"`
}

// ContactInfo is a PJSIP contact's status in ContactStatusChange: Created, Removed,
// Reachable, Unreachable, NonQualified.
type ContactInfo struct {
	URI           string `json:"uri"`
	ContactStatus string `json:"contact_status"`
	AOR           string `json:"aor"`
	RoundtripUsec string `json:"roundtrip_usec,omitempty"`
}

// ReferTo is where a REFER asks a channel to be transferred (ChannelTransfer.refer_to).
type ReferTo struct {
	RequestedDestination struct {
		ProtocolID               string `json:"protocol_id,omitempty"` // the consultation dialog's Call-ID (attended)
		Destination              string `json:"destination,omitempty"` // the Refer-To URI's user part
		AdditionalProtocolParams []struct {
			Name  string `json:"parameter_name"`
			Value string `json:"parameter_value"`
		} `json:"additional_protocol_params,omitempty"` // "from" and "to": the Replaces tags
	} `json:"requested_destination"`
	DestinationChannel *ChannelData `json:"destination_channel,omitempty"` // the channel to be replaced (attended)
	ConnectedChannel   *ChannelData `json:"connected_channel,omitempty"`   // the one bridged with it
	Bridge             *BridgeData  `json:"bridge,omitempty"`
}

// ReferredBy is who sent the REFER (ChannelTransfer.referred_by).
type ReferredBy struct {
	SourceChannel    ChannelData  `json:"source_channel"` // the channel the REFER arrived on
	ConnectedChannel *ChannelData `json:"connected_channel,omitempty"`
	Bridge           *BridgeData  `json:"bridge,omitempty"`
}
