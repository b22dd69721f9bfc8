package ari

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The REST calls hotline needs, named after the ARI resources
// (https://docs.asterisk.org/Asterisk_20_Documentation/API_Documentation/Asterisk_REST_Interface/).

func esc(id string) string { return url.PathEscape(id) }

// Channels lists every channel Asterisk has (GET /channels).
func (c *Client) Channels(ctx context.Context) ([]ChannelData, error) {
	var out []ChannelData
	err := c.do(ctx, "GET", "/channels", nil, nil, &out)
	return out, err
}

// Channel gets one channel (GET /channels/{id}); a gone channel is a 404 *Error.
func (c *Client) Channel(ctx context.Context, id string) (*ChannelData, error) {
	var out ChannelData
	if err := c.do(ctx, "GET", "/channels/"+esc(id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Answer answers a channel (POST /channels/{id}/answer).
func (c *Client) Answer(ctx context.Context, id string) error {
	return c.do(ctx, "POST", "/channels/"+esc(id)+"/answer", nil, nil, nil)
}

// Ring indicates ringing to a channel (POST /channels/{id}/ring).
func (c *Client) Ring(ctx context.Context, id string) error {
	return c.do(ctx, "POST", "/channels/"+esc(id)+"/ring", nil, nil, nil)
}

// StopRinging stops ringing indication (DELETE /channels/{id}/ring).
func (c *Client) StopRinging(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/channels/"+esc(id)+"/ring", nil, nil, nil)
}

// Play starts media ("sound:<name>", "tone:...", ...) on a channel with a playback ID the
// caller chose (POST /channels/{id}/play). Subscribe to PlaybackKey(playbackID) first.
func (c *Client) Play(ctx context.Context, channelID, playbackID, media string) (*PlaybackData, error) {
	q := url.Values{"media": {media}, "playbackId": {playbackID}}
	var out PlaybackData
	if err := c.do(ctx, "POST", "/channels/"+esc(channelID)+"/play", q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Playback gets a playback (GET /playbacks/{id}); a finished one is a 404 *Error.
func (c *Client) Playback(ctx context.Context, id string) (*PlaybackData, error) {
	var out PlaybackData
	if err := c.do(ctx, "GET", "/playbacks/"+esc(id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// StopPlayback stops a playback (DELETE /playbacks/{id}); one already finished (404) is no error.
// PlaybackFinished (state "done") may arrive before this returns.
func (c *Client) StopPlayback(ctx context.Context, id string) error {
	return ignoreNotFound(c.do(ctx, "DELETE", "/playbacks/"+esc(id), nil, nil, nil))
}

// RecordParams are the options of POST /channels/{id}/record.
type RecordParams struct {
	Name        string // required; also the stored recording's name
	Format      string // "" = wav
	MaxDuration int    // seconds, 0 = no limit
	MaxSilence  int    // seconds, 0 = no limit
	IfExists    string // fail, overwrite, append ("" = overwrite)
	Beep        bool
	TerminateOn string // none, any, *, # ("" = none)
}

// Record starts recording a channel (POST /channels/{id}/record). Subscribe to
// RecordingKey(p.Name) first.
func (c *Client) Record(ctx context.Context, channelID string, p RecordParams) (*RecordingData, error) {
	if p.Format == "" {
		p.Format = "wav"
	}
	if p.IfExists == "" {
		p.IfExists = "overwrite"
	}
	if p.TerminateOn == "" {
		p.TerminateOn = "none"
	}
	q := url.Values{
		"name": {p.Name}, "format": {p.Format},
		"maxDurationSeconds": {strconv.Itoa(p.MaxDuration)}, "maxSilenceSeconds": {strconv.Itoa(p.MaxSilence)},
		"ifExists": {p.IfExists}, "beep": {strconv.FormatBool(p.Beep)}, "terminateOn": {p.TerminateOn},
	}
	var out RecordingData
	if err := c.do(ctx, "POST", "/channels/"+esc(channelID)+"/record", q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// LiveRecording gets a recording in progress (GET /recordings/live/{name}); a finished one is a 404.
func (c *Client) LiveRecording(ctx context.Context, name string) (*RecordingData, error) {
	var out RecordingData
	if err := c.do(ctx, "GET", "/recordings/live/"+esc(name), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// StopRecording stops a live recording and keeps it (POST /recordings/live/{name}/stop);
// one already finished (404) is no error.
func (c *Client) StopRecording(ctx context.Context, name string) error {
	return ignoreNotFound(c.do(ctx, "POST", "/recordings/live/"+esc(name)+"/stop", nil, nil, nil))
}

// StoredRecording gets a stored recording's description (GET /recordings/stored/{name}).
func (c *Client) StoredRecording(ctx context.Context, name string) (*StoredRecording, error) {
	var out StoredRecording
	if err := c.do(ctx, "GET", "/recordings/stored/"+esc(name), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// StoredRecordingFile copies a stored recording's file to w (GET /recordings/stored/{name}/file)
// and returns the number of bytes written. ctx bounds the download (no per-request timeout).
func (c *Client) StoredRecordingFile(ctx context.Context, name string, w io.Writer) (int64, error) {
	path := "/recordings/stored/" + esc(name) + "/file"
	res, err := c.send(ctx, "GET", path, nil, nil)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	n, err := io.Copy(w, res.Body)
	if err != nil {
		return n, fmt.Errorf("ari: GET %s: %w", path, err)
	}
	return n, nil
}

// DeleteStoredRecording deletes a stored recording (DELETE /recordings/stored/{name});
// one already gone (404) is no error.
func (c *Client) DeleteStoredRecording(ctx context.Context, name string) error {
	return ignoreNotFound(c.do(ctx, "DELETE", "/recordings/stored/"+esc(name), nil, nil, nil))
}

// SendDTMF sends digits to a channel (POST /channels/{id}/dtmf). Zero durations use
// Asterisk's defaults.
func (c *Client) SendDTMF(ctx context.Context, channelID, digits string, duration, between time.Duration) error {
	q := url.Values{"dtmf": {digits}}
	if duration > 0 {
		q.Set("duration", strconv.FormatInt(duration.Milliseconds(), 10))
	}
	if between > 0 {
		q.Set("between", strconv.FormatInt(between.Milliseconds(), 10))
	}
	return c.do(ctx, "POST", "/channels/"+esc(channelID)+"/dtmf", q, nil, nil)
}

// Hangup hangs a channel up (DELETE /channels/{id}?reason=...). reason is one of ARI's
// names (normal, busy, congestion, no_answer, timeout, rejected, unallocated, ...); "" = normal.
// A channel already gone (404) is no error.
func (c *Client) Hangup(ctx context.Context, channelID, reason string) error {
	if reason == "" {
		reason = "normal"
	}
	q := url.Values{"reason": {reason}}
	return ignoreNotFound(c.do(ctx, "DELETE", "/channels/"+esc(channelID), q, nil, nil))
}

// OriginateParams are the options of POST /channels.
type OriginateParams struct {
	Endpoint  string            // e.g. PJSIP/1001
	ChannelID string            // chosen by the caller: subscribe to ChannelKey(ChannelID) first
	App       string            // "" = the client's application, so the answered leg enters Stasis
	AppArgs   []string          // StasisStart args
	CallerID  string            // "Name <number>"
	Timeout   int               // seconds to ring (0 = Asterisk's default, 30)
	Variables map[string]string // channel variables, sent in the JSON body
}

// Originate creates an outbound channel (POST /channels). It returns once Asterisk has
// started dialing; the outcome arrives as events: Dial, then StasisStart on answer or
// ChannelDestroyed with the cause.
func (c *Client) Originate(ctx context.Context, p OriginateParams) (*ChannelData, error) {
	q := url.Values{}
	if p.Endpoint != "" {
		q.Set("endpoint", p.Endpoint)
	}
	app := p.App
	if app == "" {
		app = c.cfg.App
	}
	q.Set("app", app)
	if len(p.AppArgs) > 0 {
		q.Set("appArgs", strings.Join(p.AppArgs, ","))
	}
	if p.ChannelID != "" {
		q.Set("channelId", p.ChannelID)
	}
	if p.CallerID != "" {
		q.Set("callerId", p.CallerID)
	}
	if p.Timeout > 0 {
		q.Set("timeout", strconv.Itoa(p.Timeout))
	}
	var body any
	if len(p.Variables) > 0 {
		body = map[string]any{"variables": p.Variables}
	}
	var out ChannelData
	if err := c.do(ctx, "POST", "/channels", q, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateBridge creates a bridge with the caller's ID (POST /bridges?type=...&bridgeId=...).
// typ is a comma-separated list such as "mixing".
func (c *Client) CreateBridge(ctx context.Context, id, typ, name string) (*BridgeData, error) {
	q := url.Values{"type": {typ}, "bridgeId": {id}}
	if name != "" {
		q.Set("name", name)
	}
	var out BridgeData
	if err := c.do(ctx, "POST", "/bridges", q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AddChannels puts channels into a bridge (POST /bridges/{id}/addChannel).
func (c *Client) AddChannels(ctx context.Context, bridgeID string, channelIDs ...string) error {
	q := url.Values{"channel": {strings.Join(channelIDs, ",")}}
	return c.do(ctx, "POST", "/bridges/"+esc(bridgeID)+"/addChannel", q, nil, nil)
}

// RemoveChannels takes channels out of a bridge (POST /bridges/{id}/removeChannel).
func (c *Client) RemoveChannels(ctx context.Context, bridgeID string, channelIDs ...string) error {
	q := url.Values{"channel": {strings.Join(channelIDs, ",")}}
	return c.do(ctx, "POST", "/bridges/"+esc(bridgeID)+"/removeChannel", q, nil, nil)
}

// DestroyBridge destroys a bridge (DELETE /bridges/{id}); channels still in it go back to the
// application. A bridge already gone (404) is no error.
func (c *Client) DestroyBridge(ctx context.Context, id string) error {
	return ignoreNotFound(c.do(ctx, "DELETE", "/bridges/"+esc(id), nil, nil, nil))
}

// Endpoints lists the endpoints of one technology (GET /endpoints/{tech}), with their state.
func (c *Client) Endpoints(ctx context.Context, tech string) ([]EndpointData, error) {
	var out []EndpointData
	err := c.do(ctx, "GET", "/endpoints/"+esc(tech), nil, nil, &out)
	return out, err
}

// SubscribeApp subscribes the application to an event source (POST
// /applications/{app}/subscription?eventSource=...), e.g. "endpoint:PJSIP" for the state of
// every PJSIP endpoint: with subscribeAll=false Asterisk sends endpoint events only then.
func (c *Client) SubscribeApp(ctx context.Context, eventSource string) error {
	q := url.Values{"eventSource": {eventSource}}
	return c.do(ctx, "POST", "/applications/"+esc(c.cfg.App)+"/subscription", q, nil, nil)
}

// TransferProgress tells a channel that received a REFER how the transfer goes (POST
// /channels/{id}/transfer_progress?states=...; Asterisk 22.3, 21.8, 20.13 and later):
// channel_progress (NOTIFY 100), channel_answered (200), channel_unavailable (503),
// channel_declined (603).
func (c *Client) TransferProgress(ctx context.Context, channelID, states string) error {
	q := url.Values{"states": {states}}
	return c.do(ctx, "POST", "/channels/"+esc(channelID)+"/transfer_progress", q, nil, nil)
}

// SetVariable sets a channel variable or writes a dialplan function (POST
// /channels/{id}/variable), e.g. PJSIP_TRANSFER_HANDLING() = ari-only.
func (c *Client) SetVariable(ctx context.Context, channelID, name, value string) error {
	q := url.Values{"variable": {name}, "value": {value}}
	return c.do(ctx, "POST", "/channels/"+esc(channelID)+"/variable", q, nil, nil)
}

// Snoop creates a snoop channel on a channel (POST /channels/{id}/snoop) that enters the
// application with appArgs: spy (none, in, out, both) is what it hears of the channel, whisper
// (none, in, out) where what it is given is mixed in. "in" is what the channel sends, "out"
// what it is sent (asterisk22/monitor-snoop.jsonl: whisper=out is heard by the channel's own
// far end only). Subscribe to ChannelKey(snoopID) first: StasisStart follows the response.
func (c *Client) Snoop(ctx context.Context, channelID, snoopID, spy, whisper string, appArgs ...string) (*ChannelData, error) {
	q := url.Values{"spy": {spy}, "whisper": {whisper}, "app": {c.cfg.App}, "snoopId": {snoopID}}
	if len(appArgs) > 0 {
		q.Set("appArgs", strings.Join(appArgs, ","))
	}
	var out ChannelData
	if err := c.do(ctx, "POST", "/channels/"+esc(channelID)+"/snoop", q, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// MuteRecording makes a live recording write silence (POST /recordings/live/{name}/mute).
// Asterisk 22.10.1 toggles on every POST, a second one unmutes again
// (asterisk22/record-snoop.jsonl): callers keep the state and send each change once.
func (c *Client) MuteRecording(ctx context.Context, name string) error {
	return c.do(ctx, "POST", "/recordings/live/"+esc(name)+"/mute", nil, nil, nil)
}

// UnmuteRecording ends MuteRecording (DELETE /recordings/live/{name}/mute; there is no
// POST .../unmute).
func (c *Client) UnmuteRecording(ctx context.Context, name string) error {
	return c.do(ctx, "DELETE", "/recordings/live/"+esc(name)+"/mute", nil, nil, nil)
}
