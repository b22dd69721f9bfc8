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
