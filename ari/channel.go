package ari

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/call"
)

// Channel is one Asterisk channel in the Stasis application. It implements call.Channel.
type Channel struct {
	d      *Driver
	log    *slog.Logger
	id     string
	name   string // Asterisk's channel name at StasisStart, e.g. PJSIP/1001-0000002a
	dir    string // inbound | outbound
	caller call.Party
	dialed string

	ctx    context.Context
	cancel context.CancelFunc
	digits *call.Digits
	sub    *Subscription

	reqs    chan call.Request // Requests()
	reqMu   sync.Mutex
	reqQ    []call.Request
	reqWake chan struct{}

	// the mixing bridge the channel is in through Bridge or Conference, for Monitor to barge
	// into; bridgeChanged is closed (and replaced) whenever it changes
	bridgeMu      sync.Mutex
	bridgeID      string
	bridgeLegs    []string
	bridgeChanged chan struct{}

	mu       sync.Mutex
	answered bool
	ended    bool
	cause    call.Cause
	started  time.Time
	done     chan struct{} // closed once the channel is released
}

var _ call.Channel = (*Channel)(nil)

func (c *Channel) ID() string               { return c.id }
func (c *Channel) Caller() call.Party       { return c.caller }
func (c *Channel) Dialed() string           { return c.dialed }
func (c *Channel) Context() context.Context { return c.ctx }

// Agent is the id of the agent whose phone placed this call, or "" when it is not a call
// from an agent's endpoint; the center runs feature codes (*50..*53) for it.
//
// Asterisk names a channel after the endpoint it matched the call to, plus a counter in hex:
// "PJSIP/1001-0000002a" (chan_sip: "SIP/1001-00000003"). Agents are the endpoints
// DriverConfig.Endpoint names ("PJSIP/%s": agent 1001 is PJSIP/1001), so the text between the
// template's prefix and the last "-<hex>" is the agent id; ids may contain '-'.
//
// Why the name can be trusted: it is Asterisk's, not the caller's. A caller picks their caller
// id and the number they dial, never the endpoint Asterisk identified them as, and for an
// agent's endpoint Asterisk did that by SIP digest authentication (or by source address, when
// the endpoint is configured to be identified so). The id is thus exactly as trustworthy as
// the endpoint's authentication in Asterisk's configuration: an endpoint that takes calls
// without authenticating (a trunk, anonymous) must not be named like an agent. The center
// acts only for configured agent ids.
//
// "" also for:
//   - outbound legs: they are hotline's own dials to an agent's phone, not the agent calling;
//   - a template with text after %s ("PJSIP/%s@site"): %s is then not the endpoint's name,
//     so the channel name does not say which agent it is;
//   - a name that does not match the template (another technology, a Local channel, no
//     "-<hex>" suffix, an empty id).
func (c *Channel) Agent() string {
	if c.dir != "inbound" {
		return ""
	}
	return agentFromName(c.d.cfg.Endpoint, c.name)
}

// agentFromName reads the agent id out of an Asterisk channel name, given the endpoint
// template (one %s, checked by NewDriver): "PJSIP/%s" and "PJSIP/1001-0000002a" give "1001".
func agentFromName(template, name string) string {
	prefix, after, ok := strings.Cut(template, "%s")
	if !ok || after != "" {
		return ""
	}
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return ""
	}
	i := strings.LastIndexByte(rest, '-')
	if i <= 0 || !isHex(rest[i+1:]) {
		return ""
	}
	return rest[:i]
}

// isHex: one or more hex digits (Asterisk writes the channel counter with %08x).
func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// Cause is why the channel ended (0 while it is up).
func (c *Channel) Cause() call.Cause {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

// grace is how long to wait for an event that must follow a REST call or a hangup
// (PlaybackFinished after a stop, RecordingFinished after a hangup).
const grace = 3 * time.Second

// onEvent runs on the event reader for every event about this channel: it must not block.
func (c *Channel) onEvent(ev Event) {
	switch e := ev.(type) {
	case *ChannelDtmfReceived:
		for _, d := range e.Digit {
			if strings.ContainsRune("0123456789*#ABCD", d) {
				c.pushDigit(d)
			}
		}
	case *ChannelStateChange:
		if e.Channel.State == "Up" {
			c.mu.Lock()
			c.answered = true
			c.mu.Unlock()
		}
	case *ChannelHold:
		c.onRequest(call.HoldRequest{Hold: true})
	case *ChannelUnhold:
		c.onRequest(call.HoldRequest{Hold: false})
	case *ChannelTransfer:
		if e.ReferredBy.SourceChannel.ID == c.id {
			t := c.transferRequest(e)
			c.log.Info("transfer requested", "target", t.Target, "attended", t.Replaces != nil)
			c.onRequest(t)
		}
	case *ChannelHangupRequest:
		cause := call.CauseNormal
		if e.Cause > 0 && !e.Soft {
			cause = call.Cause(e.Cause)
		}
		c.remoteEnd(cause, "hangup requested")
	case *StasisEnd:
		c.remoteEnd(call.CauseNormal, "left the application")
	case *ChannelDestroyed:
		cause := call.Cause(e.Cause)
		if cause <= 0 {
			cause = call.CauseNormal
		}
		c.remoteEnd(cause, "destroyed")
	}
}

func (c *Channel) pushDigit(d rune) {
	if !c.digits.Push(d) {
		c.log.Warn("digit buffer full: dropping digit", "digit", string(d))
	}
}

// opContext ends when either the operation's ctx or the call ends.
func (c *Channel) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	octx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(c.ctx, cancel)
	return octx, func() { stop(); cancel() }
}

func (c *Channel) hungUp() error {
	if c.ctx.Err() != nil {
		return call.ErrHangup
	}
	return nil
}

// opErr turns a failed REST call on this channel into what the caller should see:
// ErrHangup once the channel is gone (a 404 means Asterisk no longer has it), ctx's error
// when the operation was cancelled, else the error itself.
func (c *Channel) opErr(ctx context.Context, err error) error {
	if IsNotFound(err) {
		c.remoteEnd(call.CauseNormal, "not found in Asterisk")
	}
	if e := c.hungUp(); e != nil {
		return e
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// bg is a context for clean-up REST calls that must go out even when the operation's ctx ended.
func (c *Channel) bg(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), c.d.c.cfg.Timeout)
}

// Answer answers an inbound channel (POST /channels/{id}/answer).
func (c *Channel) Answer(ctx context.Context) error {
	c.mu.Lock()
	if c.answered || c.dir == "outbound" {
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	if err := c.hungUp(); err != nil {
		return err
	}
	if err := c.d.c.Answer(ctx, c.id); err != nil {
		return c.opErr(ctx, err)
	}
	c.mu.Lock()
	c.answered = true
	c.mu.Unlock()
	return nil
}

// Play plays prompts one playback at a time; with Interruptible a digit stops the playback
// (DELETE /playbacks/{id}) and is returned, later digits staying buffered.
func (c *Channel) Play(ctx context.Context, prompts []call.Prompt, opts call.PlayOptions) (string, error) {
	if err := c.hungUp(); err != nil {
		return "", err
	}
	media := make([]string, 0, len(prompts))
	for _, p := range prompts {
		m, err := c.d.snd.media(p)
		if err != nil {
			return "", err
		}
		if m != "" {
			media = append(media, m)
		}
	}
	if opts.Interruptible {
		select { // a digit typed ahead barges in at once
		case d := <-c.digits.C():
			return string(d), nil
		default:
		}
	}
	octx, cancel := c.opContext(ctx)
	defer cancel()
	for {
		failed := 0
		for _, m := range media {
			d, ok, err := c.playOne(ctx, octx, m, opts.Interruptible)
			if err != nil || d != "" {
				return d, err
			}
			if !ok {
				failed++
			}
		}
		if !opts.Loop || len(media) == 0 {
			return "", nil
		}
		if failed == len(media) { // looping music Asterisk cannot play would spin
			return "", fmt.Errorf("%w: Asterisk could not play %v", ErrBadPrompt, media)
		}
	}
}

// playOne plays one medium and waits for its PlaybackFinished; ok is false when Asterisk
// reports that it could not play it.
func (c *Channel) playOne(ctx, octx context.Context, media string, interruptible bool) (digit string, ok bool, err error) {
	id := newID("hotline-pb")
	sub := c.d.c.Subscribe(PlaybackKey(id)) // before the POST: PlaybackStarted may beat the response
	defer sub.Close()
	gen := c.d.c.reconnected()
	pctx, pcancel := c.bg(ctx) // not cut short by ctx: a playback Asterisk started must be stopped below
	_, err = c.d.c.Play(pctx, c.id, id, media)
	pcancel()
	if err != nil {
		return "", false, c.opErr(ctx, err)
	}
	var digits <-chan rune
	if interruptible {
		digits = c.digits.C()
	}
	stop := func() {
		sctx, cancel := c.bg(ctx)
		defer cancel()
		if err := c.d.c.StopPlayback(sctx, id); err != nil {
			c.log.Debug("stop playback", "playback", id, "error", err)
		}
	}
	for {
		select {
		case ev := <-sub.Events():
			if e, ok := ev.(*PlaybackFinished); ok {
				if err := c.hungUp(); err != nil {
					return "", false, err
				}
				if e.Playback.State == "failed" {
					c.log.Warn("Asterisk could not play a prompt", "media", media)
					return "", false, nil
				}
				return "", true, nil
			}
		case d := <-digits:
			stop()
			c.awaitFinished(sub)
			return string(d), true, nil
		case <-gen: // the event WebSocket reconnected: PlaybackFinished may have been lost
			gen = c.d.c.reconnected()
			if _, err := c.d.c.Playback(octx, id); IsNotFound(err) {
				return "", true, c.hungUp()
			}
		case <-c.ctx.Done():
			return "", false, call.ErrHangup
		case <-ctx.Done():
			stop()
			return "", false, ctx.Err()
		}
	}
}

// awaitFinished waits briefly for PlaybackFinished after a stop, so that the next playback
// does not overlap the end of this one.
func (c *Channel) awaitFinished(sub *Subscription) {
	t := time.NewTimer(grace)
	defer t.Stop()
	for {
		select {
		case ev := <-sub.Events():
			if _, ok := ev.(*PlaybackFinished); ok {
				return
			}
		case <-c.ctx.Done():
			return
		case <-t.C:
			return
		}
	}
}

// ReadDigits collects digits until Max, a terminator, or a timeout.
func (c *Channel) ReadDigits(ctx context.Context, opts call.DigitOptions) (string, error) {
	if err := c.hungUp(); err != nil {
		return "", err
	}
	return c.digits.Read(ctx, c.ctx, opts)
}

// FlushDigits discards buffered digits.
func (c *Channel) FlushDigits() { c.digits.Flush() }

// SendDigits sends DTMF through Asterisk (100 ms tones, 50 ms apart).
func (c *Channel) SendDigits(ctx context.Context, digits string) error {
	if err := c.hungUp(); err != nil {
		return err
	}
	if err := c.d.c.SendDTMF(ctx, c.id, digits, 100*time.Millisecond, 50*time.Millisecond); err != nil {
		return c.opErr(ctx, err)
	}
	return nil
}

// Record has Asterisk record the channel (POST /channels/{id}/record, wav; with Beep after
// playing hotline's beep, so Asterisk's core sounds are not needed), waits for
// RecordingFinished, then fetches the stored file into path and (by default) deletes it
// from Asterisk. What was recorded before a hangup is kept.
func (c *Channel) Record(ctx context.Context, path string, opts call.RecordOptions) (call.Recording, error) {
	rec := call.Recording{Path: path}
	if err := c.hungUp(); err != nil {
		return rec, err
	}
	if opts.MaxDuration == 0 {
		opts.MaxDuration = audio.DefaultMaxRecording
	}
	if opts.Beep { // hotline's own beep, from the shared directory (see sounds.beep)
		m, err := c.d.snd.beep()
		if err != nil {
			return rec, err
		}
		octx, cancel := c.opContext(ctx)
		_, _, err = c.playOne(ctx, octx, m, false)
		cancel()
		if err != nil {
			return rec, err
		}
	}
	p := RecordParams{
		Name:        newID("hotline-rec"),
		MaxDuration: int(math.Ceil(opts.MaxDuration.Seconds())),
		MaxSilence:  int(math.Ceil(opts.SilenceTimeout.Seconds())),
		TerminateOn: "none",
	}
	if opts.EndOnPound {
		p.TerminateOn = "#"
	}
	sub := c.d.c.Subscribe(RecordingKey(p.Name)) // before the POST: RecordingStarted may beat the response
	defer sub.Close()
	gen := c.d.c.reconnected()
	rctx, rcancel := c.bg(ctx) // not cut short by ctx: a recording Asterisk started must be stopped below
	_, err := c.d.c.Record(rctx, c.id, p)
	rcancel()
	if err != nil {
		return rec, c.opErr(ctx, err)
	}
	stopLive := func() {
		sctx, cancel := c.bg(ctx)
		defer cancel()
		if err := c.d.c.StopRecording(sctx, p.Name); err != nil {
			c.log.Warn("stop recording", "recording", p.Name, "error", err)
		}
	}
	var (
		end      call.RecordEnd
		finished *RecordingData
		hangup   = c.ctx.Done()
		cancel   = ctx.Done()
		deadline = time.NewTimer(opts.MaxDuration + grace) // backstop if Asterisk never says
		wait     <-chan time.Time                          // grace after we know it is ending
	)
	defer deadline.Stop()
	waitFinish := func() {
		if wait == nil {
			wait = time.After(grace)
		}
	}
loop:
	for {
		select {
		case ev := <-sub.Events():
			switch e := ev.(type) {
			case *RecordingFinished:
				finished = &e.Recording
				break loop
			case *RecordingFailed:
				if end == call.RecordEndHangup {
					break loop // nothing more to save; still try the stored file below
				}
				return rec, fmt.Errorf("%w: %s %s", ErrRecordingFailed, e.Recording.Name, e.Recording.Cause)
			}
		case d := <-c.digits.C():
			if opts.EndOnPound && d == '#' && end == "" {
				end = call.RecordEndDigit // Asterisk stops on terminateOn by itself
				waitFinish()
			}
		case <-hangup:
			hangup = nil
			if end == "" {
				end = call.RecordEndHangup
			}
			waitFinish()
		case <-cancel:
			cancel = nil
			if end == "" {
				end = call.RecordEndStopped
			}
			stopLive()
			waitFinish()
		case <-gen: // the event WebSocket reconnected: RecordingFinished may have been lost
			gen = c.d.c.reconnected()
			lctx, lcancel := c.bg(ctx)
			_, err := c.d.c.LiveRecording(lctx, p.Name)
			lcancel()
			if IsNotFound(err) {
				break loop
			}
		case <-deadline.C:
			if end == "" {
				end = call.RecordEndMax
			}
			stopLive()
			waitFinish()
		case <-wait:
			c.log.Warn("no RecordingFinished from Asterisk: fetching what was stored", "recording", p.Name)
			break loop
		}
	}
	if end == "" {
		end = c.recordEnd(finished, opts, p)
	}
	rec.End = end
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer fcancel()
	n, err := c.fetch(fctx, p.Name, path)
	if err != nil {
		return rec, err
	}
	rec.Duration = wavFileDuration(path)
	if rec.Duration == 0 && finished != nil {
		rec.Duration = time.Duration(finished.Duration) * time.Second
	}
	if c.d.cfg.RecordingsFetch == FetchAndDelete {
		if err := c.d.c.DeleteStoredRecording(fctx, p.Name); err != nil {
			c.log.Warn("delete stored recording", "recording", p.Name, "error", err)
		}
	}
	c.log.Info("recorded", "end", rec.End, "duration", rec.Duration, "bytes", n, "path", path)
	return rec, nil
}

// recordEnd tells why Asterisk finished a recording by itself: '#' (the digit reached the
// buffer before RecordingFinished, both being dispatched in order), silence or length.
func (c *Channel) recordEnd(fin *RecordingData, opts call.RecordOptions, p RecordParams) call.RecordEnd {
	if opts.EndOnPound {
		for more := true; more; {
			select {
			case d := <-c.digits.C():
				if d == '#' {
					return call.RecordEndDigit
				}
			default:
				more = false
			}
		}
	}
	if c.ctx.Err() != nil {
		return call.RecordEndHangup
	}
	if fin != nil && p.MaxDuration > 0 && fin.Duration >= int64(p.MaxDuration) {
		return call.RecordEndMax
	}
	if p.MaxSilence > 0 {
		return call.RecordEndSilence
	}
	return call.RecordEndMax
}

// fetch downloads a stored recording into path (written whole, then renamed into place).
func (c *Channel) fetch(ctx context.Context, name, path string) (int64, error) {
	n, err := writeFile(path, func(w io.Writer) (int64, error) { return c.d.c.StoredRecordingFile(ctx, name, w) })
	if err != nil {
		return 0, fmt.Errorf("ari: record: fetching %s: %w", name, err)
	}
	return n, nil
}

// writeFile writes path whole or not at all: into a temporary file beside it, renamed into
// place once write has succeeded. It makes the directory if needed.
func writeFile(path string, write func(io.Writer) (int64, error)) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return 0, err
	}
	n, err := write(tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return 0, err
	}
	return n, nil
}

// wavFileDuration is the length of the WAV recording at path; 0 when it is not one.
func wavFileDuration(path string) time.Duration {
	info, err := audio.LoadWAVInfo(path)
	if err != nil {
		return 0
	}
	return info.Duration()
}

// Bridge puts both channels in a mixing bridge until either hangs up (or leaves the bridge)
// or ctx ends, then destroys the bridge. It returns the ID of the channel that hung up.
func (c *Channel) Bridge(ctx context.Context, other call.Channel) (string, error) {
	o, ok := other.(*Channel)
	if !ok || o.d != c.d {
		return "", call.ErrNotBridgeable
	}
	return c.mix(ctx, "hotline-bridge", "bridge", []*Channel{c, o})
}

// Hangup hangs the channel up (DELETE /channels/{id}?reason=...). Calling it again, or after
// the far end hung up, is a no-op.
func (c *Channel) Hangup(cause call.Cause) error {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		<-c.done
		return nil
	}
	c.ended, c.cause = true, cause
	c.mu.Unlock()
	return c.release(true)
}

// remoteEnd ends the channel because Asterisk says it is gone (or going). It runs on the
// event reader, so it sends nothing to Asterisk.
func (c *Channel) remoteEnd(cause call.Cause, why string) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.ended, c.cause = true, cause
	c.mu.Unlock()
	c.log.Debug("channel ended by Asterisk", "why", why)
	_ = c.release(false)
}

func (c *Channel) release(local bool) error {
	defer close(c.done)
	c.cancel()
	var err error
	if local {
		ctx, cancel := context.WithTimeout(context.Background(), c.d.c.cfg.Timeout)
		err = c.d.c.Hangup(ctx, c.id, hangupReason(c.cause))
		cancel()
		if err != nil {
			c.log.Warn("hangup", "error", err)
			err = fmt.Errorf("ari: hangup %s: %w", c.id, err)
		}
	}
	c.sub.Close()
	c.d.untrack(c.id)
	mActiveCalls.Dec()
	mCalls.WithLabelValues(c.dir, c.cause.String()).Inc()
	c.log.Info("call ended", "cause", c.cause, "local", local, "duration", time.Since(c.started).Round(time.Millisecond))
	return err
}

// hangupReason maps a Q.850 cause to the reason names DELETE /channels/{id} accepts.
func hangupReason(c call.Cause) string {
	switch c {
	case call.CauseBusy:
		return "busy"
	case call.CauseNoAnswer:
		return "no_answer"
	case call.CauseNoResponse:
		return "timeout"
	case call.CauseRejected:
		return "rejected"
	case call.CauseUnallocated:
		return "unallocated"
	case call.CauseNoCircuit:
		return "congestion"
	case call.CauseTempFailure:
		return "failure"
	case call.CauseIncompatible:
		return "codec_mismatch"
	case call.CauseInterworking:
		return "interworking"
	}
	return "normal"
}
