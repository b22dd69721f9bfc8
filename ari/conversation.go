package ari

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/call"
)

// Conversation recording (call.CallRecorder) and monitoring (call.Monitorer) through snoop
// channels, as Asterisk 22 does them (ari/testdata/asterisk22/record-snoop.jsonl and
// monitor-snoop.jsonl):
//
//   - a snoop on the caller with spy=in hears only what the caller says, spy=out only what the
//     caller hears (agents, colleagues, hold music); each is recorded to its own stored WAV,
//     and the two are joined into one two-channel file when the recording stops.
//   - muting a live recording writes zero samples and keeps time, but a second mute toggles
//     it back: the driver keeps the paused state itself and sends each change once.
//   - a snoop on the AGENT with spy=both in a mixing bridge with the supervisor is listening;
//     with whisper=out the agent hears the supervisor and the caller does not (whisper=in would
//     be heard by the caller). Barging moves the supervisor into the conversation's bridge.

var (
	_ call.CallRecorder = (*Channel)(nil)
	_ call.Monitorer    = (*Channel)(nil)
)

// setBridge notes that the channel is in bridge id with legs (mix).
func (c *Channel) setBridge(id string, legs []string) {
	c.bridgeMu.Lock()
	defer c.bridgeMu.Unlock()
	c.bridgeID, c.bridgeLegs = id, legs
	c.bridgeChangedLocked()
}

// clearBridge forgets bridge id, unless the channel is in another one by now.
func (c *Channel) clearBridge(id string) {
	c.bridgeMu.Lock()
	defer c.bridgeMu.Unlock()
	if c.bridgeID != id {
		return
	}
	c.bridgeID, c.bridgeLegs = "", nil
	c.bridgeChangedLocked()
}

func (c *Channel) bridgeChangedLocked() {
	if c.bridgeChanged != nil {
		close(c.bridgeChanged)
	}
	c.bridgeChanged = make(chan struct{})
}

// bridged is the conversation bridge c is in with the channel with, if any, and a channel
// closed when that changes.
func (c *Channel) bridged(with string) (string, <-chan struct{}) {
	c.bridgeMu.Lock()
	defer c.bridgeMu.Unlock()
	if c.bridgeChanged == nil {
		c.bridgeChanged = make(chan struct{})
	}
	if slices.Contains(c.bridgeLegs, with) {
		return c.bridgeID, c.bridgeChanged
	}
	return "", c.bridgeChanged
}

// snoop creates a snoop channel on channelID and waits until it is in the application (a
// bridge or a recording wants it there). The returned subscription follows it; close it.
func (c *Channel) snoop(ctx context.Context, channelID, spy, whisper string) (string, *Subscription, error) {
	id := newID("hotline-snoop")
	sub := c.d.c.Subscribe(ChannelKey(id)) // before the POST: StasisStart follows the response
	if _, err := c.d.c.Snoop(ctx, channelID, id, spy, whisper, snoopArg); err != nil {
		sub.Close()
		return "", nil, fmt.Errorf("ari: snoop on %s (spy=%s whisper=%s): %w", channelID, spy, whisper, err)
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	for {
		select {
		case ev := <-sub.Events():
			if _, ok := ev.(*StasisStart); ok {
				return id, sub, nil
			}
		case <-t.C:
			c.hangupSnoop(ctx, id)
			sub.Close()
			return "", nil, fmt.Errorf("ari: snoop %s on %s: no StasisStart within %s", id, channelID, grace)
		case <-ctx.Done():
			c.hangupSnoop(ctx, id)
			sub.Close()
			return "", nil, ctx.Err()
		}
	}
}

func (c *Channel) hangupSnoop(ctx context.Context, id string) {
	hctx, cancel := c.bg(ctx)
	defer cancel()
	if err := c.d.c.Hangup(hctx, id, "normal"); err != nil {
		c.log.Warn("hang up snoop", "snoop", id, "error", err)
	}
}

// RecordCall records the conversation of the caller's leg c in two channels: a snoop with
// spy=in (the caller, left) and one with spy=out (what the caller hears, right), each
// recorded by Asterisk. Stop joins the two stored files into path. Asterisk keeps the audio
// until then, so unlike the native driver nothing is at path before Stop.
func (c *Channel) RecordCall(path string, opts call.CallRecordOptions) (call.CallRecording, error) {
	if err := c.hungUp(); err != nil {
		return nil, err
	}
	if opts.MaxDuration <= 0 {
		opts.MaxDuration = call.DefaultMaxCallRecording
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.d.c.cfg.Timeout)
	defer cancel()
	r := &callRecording{c: c, path: path, done: make(chan struct{}), stopped: make(chan struct{}), watched: make(chan struct{})}
	base := newID("hotline-call")
	for i, spy := range []string{"in", "out"} {
		leg := &r.legs[i]
		leg.name = base + "-" + spy
		snoop, sub, err := c.snoop(ctx, c.id, spy, "none")
		if err != nil {
			r.abort()
			return nil, c.opErr(ctx, err)
		}
		leg.snoop, leg.snoopSub = snoop, sub
		leg.sub = c.d.c.Subscribe(RecordingKey(leg.name)) // before the POST: RecordingStarted may beat it
		p := RecordParams{Name: leg.name, MaxDuration: int(math.Ceil(opts.MaxDuration.Seconds())), IfExists: "fail", TerminateOn: "none"}
		if _, err := c.d.c.Record(ctx, snoop, p); err != nil {
			r.abort()
			return nil, c.opErr(ctx, fmt.Errorf("ari: record call %s: %w", c.id, err))
		}
		leg.recording = true
	}
	r.start = time.Now()
	if opts.Paused { // the span starts with the recording, not a few µs in
		r.setPaused(true, 0)
	}
	go r.watch()
	c.log.Info("recording the conversation", "recordings", []string{r.legs[0].name, r.legs[1].name}, "path", path)
	return r, nil
}

// callRecording is a conversation recording in progress: two snooped recordings.
type callRecording struct {
	c    *Channel
	path string
	legs [2]struct {
		name, snoop string
		snoopSub    *Subscription
		sub         *Subscription // the recording's events
		recording   bool          // Asterisk was asked to record
	}
	start time.Time

	mu     sync.Mutex
	paused bool
	spans  []call.Span
	end    time.Time // when the recording ended (Stop, or on its own)

	done     chan struct{} // closed when it ended on its own
	stopped  chan struct{} // closed by Stop, ends watch
	stopOnce sync.Once
	result   call.RecordedCall
	err      error
	watched  chan struct{}
}

// abort undoes a RecordCall that failed half-way.
func (r *callRecording) abort() {
	ctx, cancel := r.c.bg(context.Background())
	defer cancel()
	for i := range r.legs {
		l := &r.legs[i]
		if l.recording {
			_ = r.c.d.c.StopRecording(ctx, l.name)
			_ = r.c.d.c.DeleteStoredRecording(ctx, l.name)
		}
		if l.snoop != "" {
			r.c.hangupSnoop(ctx, l.snoop)
		}
		if l.sub != nil {
			l.sub.Close()
		}
		if l.snoopSub != nil {
			l.snoopSub.Close()
		}
	}
}

// watch notices the recording ending on its own: both recordings finished (MaxDuration) or
// the caller's channel ended (Asterisk then finishes them and keeps the files).
func (r *callRecording) watch() {
	defer close(r.watched)
	fin := [2]bool{}
	hangup := r.c.ctx.Done()
	for !fin[0] || !fin[1] {
		select {
		case ev := <-r.legs[0].sub.Events():
			fin[0] = fin[0] || finishedRecording(ev)
		case ev := <-r.legs[1].sub.Events():
			fin[1] = fin[1] || finishedRecording(ev)
		case <-hangup:
			hangup = nil
			r.ended()
		case <-r.stopped:
			return
		}
	}
	r.ended()
}

func finishedRecording(ev Event) bool {
	switch ev.(type) {
	case *RecordingFinished, *RecordingFailed:
		return true
	}
	return false
}

// ended marks the end once: the time, an open pause closed, Done closed.
func (r *callRecording) ended() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.end.IsZero() {
		return
	}
	r.end = time.Now()
	r.closeSpanLocked()
	close(r.done)
}

func (r *callRecording) closeSpanLocked() {
	if r.paused {
		r.spans[len(r.spans)-1].End = r.end.Sub(r.start)
	}
}

func (r *callRecording) Done() <-chan struct{} { return r.done }

// Pause mutes both recordings (Asterisk writes zero samples); only a change is sent, since a
// second mute would unmute (see MuteRecording).
func (r *callRecording) Pause() bool { return r.setPaused(true, -1) }

// Resume unmutes both recordings.
func (r *callRecording) Resume() bool { return r.setPaused(false, -1) }

// setPaused changes the paused state at offset at (-1: now).
func (r *callRecording) setPaused(on bool, at time.Duration) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.paused == on || !r.end.IsZero() {
		return false
	}
	r.paused = on
	if at < 0 {
		at = time.Since(r.start)
	}
	if on {
		r.spans = append(r.spans, call.Span{Start: at})
	} else {
		r.spans[len(r.spans)-1].End = at
	}
	ctx, cancel := r.c.bg(context.Background())
	defer cancel()
	for i := range r.legs {
		name := r.legs[i].name
		var err error
		if on {
			err = r.c.d.c.MuteRecording(ctx, name)
		} else {
			err = r.c.d.c.UnmuteRecording(ctx, name)
		}
		if err != nil { // the span is still zeroed when the file is joined
			r.c.log.Warn("pause/resume conversation recording", "recording", name, "pause", on, "error", err)
		}
	}
	return true
}

// Stop stops both recordings, waits for Asterisk to finish them, fetches both files, joins
// them into path and deletes them in Asterisk.
func (r *callRecording) Stop() (call.RecordedCall, error) {
	r.stopOnce.Do(func() { r.result, r.err = r.stop() })
	return r.result, r.err
}

func (r *callRecording) stop() (call.RecordedCall, error) {
	c := r.c
	r.ended()
	close(r.stopped)
	<-r.watched
	r.mu.Lock()
	res := call.RecordedCall{Path: r.path, Duration: r.end.Sub(r.start), Paused: slices.Clone(r.spans)}
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var pcm [2][]int16
	for i := range r.legs {
		l := &r.legs[i]
		if err := c.d.c.StopRecording(ctx, l.name); err != nil {
			c.log.Warn("stop conversation recording", "recording", l.name, "error", err)
		}
	}
	for i := range r.legs {
		l := &r.legs[i]
		awaitFinished(l.sub, grace)
		l.sub.Close()
		c.hangupSnoop(ctx, l.snoop)
		l.snoopSub.Close()
		var buf bytes.Buffer
		if _, err := c.d.c.StoredRecordingFile(ctx, l.name, &buf); err != nil {
			c.log.Warn("fetch conversation recording", "recording", l.name, "error", err)
			res.Incomplete = true
			continue
		}
		p, err := audio.ReadWAV(&buf)
		if err != nil {
			c.log.Warn("conversation recording is not a WAV", "recording", l.name, "error", err)
			res.Incomplete = true
			continue
		}
		pcm[i] = p
		if c.d.cfg.RecordingsFetch == FetchAndDelete {
			if err := c.d.c.DeleteStoredRecording(ctx, l.name); err != nil {
				c.log.Warn("delete stored recording", "recording", l.name, "error", err)
			}
		}
	}
	if short(pcm[0], res.Duration) || short(pcm[1], res.Duration) {
		res.Incomplete = true
	}
	if err := writeStereo(r.path, pcm[0], pcm[1], res.Paused); err != nil {
		return res, err
	}
	c.log.Info("conversation recorded", "path", r.path, "duration", res.Duration, "paused", len(res.Paused), "incomplete", res.Incomplete)
	return res, nil
}

// shortBy is how much less audio than the wall clock says a recorded side may hold before it
// counts as incomplete: Asterisk starts writing a few frames after the record request.
const shortBy = time.Second

func short(pcm []int16, d time.Duration) bool {
	have := time.Duration(len(pcm)) * time.Second / audio.SampleRate
	return have+shortBy < d
}

func awaitFinished(sub *Subscription, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case ev := <-sub.Events():
			if finishedRecording(ev) {
				return
			}
		case <-t.C:
			return
		}
	}
}

// writeStereo writes left and right as one two-channel 8 kHz WAV at path (whole, then renamed
// into place), the shorter side padded with silence and the paused spans zeroed: Asterisk's
// mute already wrote zeros there, this keeps the promise if a mute request got lost.
func writeStereo(path string, left, right []int16, paused []call.Span) error {
	n := max(len(left), len(right))
	pcm := make([]int16, 2*n)
	for i := 0; i < n; i++ {
		if i < len(left) {
			pcm[2*i] = left[i]
		}
		if i < len(right) {
			pcm[2*i+1] = right[i]
		}
	}
	for _, s := range paused {
		from := min(n, int(s.Start*audio.SampleRate/time.Second))
		to := n
		if s.End > 0 {
			to = min(n, int(s.End*audio.SampleRate/time.Second))
		}
		clear(pcm[2*from : 2*to])
	}
	if _, err := writeFile(path, func(w io.Writer) (int64, error) {
		n, err := w.Write(audio.EncodeWAV(audio.SampleRate, 2, pcm))
		return int64(n), err
	}); err != nil {
		return fmt.Errorf("ari: record call: writing %s: %w", path, err)
	}
	return nil
}

// Monitor joins supervisor to the conversation of the caller c with agent, which must be
// bridged by Bridge or Conference. Listen and whisper: a snoop on the agent (spy=both,
// whisper none or out) in a mixing bridge of its own with the supervisor; barge: the
// supervisor in the conversation's bridge. A mode change creates the new snoop before the
// old one is hung up, so the supervisor hears no gap. When the conversation's bridge goes
// (the caller is put on hold) a barging supervisor is taken back to whisper until it is
// back. Everything Monitor created is removed when it returns; caller and agent stay bridged.
func (c *Channel) Monitor(ctx context.Context, agent, supervisor call.Channel, ctl *call.MonitorControl) (string, error) {
	a, ok1 := agent.(*Channel)
	s, ok2 := supervisor.(*Channel)
	if !ok1 || !ok2 || a.d != c.d || s.d != c.d {
		return "", call.ErrNotBridgeable
	}
	for _, l := range []*Channel{c, a, s} {
		if err := l.hungUp(); err != nil {
			return l.id, err
		}
	}
	if id, _ := c.bridged(a.id); id == "" {
		// The call path hands over caller and agent unbridged (on the native engine the
		// mix replaces the bridge): bridge them for as long as the monitoring lasts.
		bctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _, _ = c.Bridge(bctx, a) }()
		defer func() { cancel(); <-done }()
		for deadline := time.Now().Add(5 * time.Second); ; {
			if id, _ := c.bridged(a.id); id != "" {
				break
			}
			select {
			case <-done:
				if who := (&monitor{c: c, agent: a, sup: s}).who(); who != "" {
					return who, nil
				}
				return "", ErrNotBridged
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return "", ErrNotBridged
			}
		}
	}
	m := &monitor{c: c, agent: a, sup: s, ctx: ctx}
	defer m.cleanup()
	if err := m.apply(ctl.Mode()); err != nil {
		return m.who(), err
	}
	for {
		_, changed := c.bridged(a.id)
		select {
		case <-ctx.Done():
			return m.who(), nil
		case <-c.ctx.Done():
			return c.id, nil
		case <-a.ctx.Done():
			return a.id, nil
		case <-s.ctx.Done():
			return s.id, nil
		case <-ctl.Changed():
		case <-changed:
		}
		if err := m.apply(ctl.Mode()); err != nil {
			return m.who(), err
		}
	}
}

// monitor is what one Monitor call has put in place.
type monitor struct {
	c, agent, sup *Channel
	ctx           context.Context

	bridge   string // the supervisor's mixing bridge with the snoop ("" until needed)
	snoop    string // the current snoop on the agent
	snoopSub *Subscription
	whisper  string // the current snoop's whisper direction
	in       string // the bridge the supervisor is in: m.bridge or the conversation's
}

// who is the one who hung up, "" when nobody did.
func (m *monitor) who() string {
	for _, l := range []*Channel{m.sup, m.agent, m.c} {
		if l.ctx.Err() != nil {
			return l.id
		}
	}
	return ""
}

// apply puts the supervisor where mode wants it; it does nothing that is already so.
func (m *monitor) apply(mode call.MonitorMode) error {
	ctx, cancel := m.c.opContext(m.ctx)
	defer cancel()
	if mode == call.Barge {
		if main, _ := m.c.bridged(m.agent.id); main != "" {
			if m.in != main {
				if err := m.c.d.c.AddChannels(ctx, main, m.sup.id); err != nil { // moves it (monitor-snoop.jsonl)
					return m.err(ctx, "barge", err)
				}
				m.in = main
			}
			m.dropSnoop()
			m.c.log.Info("supervisor barged in", "supervisor", m.sup.id, "bridge", main)
			return nil
		}
		m.c.log.Info("no conversation bridge to barge into: whispering meanwhile", "supervisor", m.sup.id)
		mode = call.Whisper
	}
	whisper := "none"
	if mode == call.Whisper {
		whisper = "out" // heard by the agent only
	}
	if m.snoop != "" && m.whisper == whisper && m.in == m.bridge {
		return nil
	}
	if m.bridge == "" {
		id := newID("hotline-monitor")
		if _, err := m.c.d.c.CreateBridge(ctx, id, "mixing", "hotline"); err != nil {
			return m.err(ctx, "monitor bridge", err)
		}
		m.bridge = id
	}
	snoop, sub, err := m.c.snoop(ctx, m.agent.id, "both", whisper)
	if err != nil {
		return m.err(ctx, "monitor snoop", err)
	}
	add := []string{snoop}
	if m.in != m.bridge {
		add = append(add, m.sup.id)
	}
	if err := m.c.d.c.AddChannels(ctx, m.bridge, add...); err != nil {
		m.c.hangupSnoop(ctx, snoop)
		sub.Close()
		return m.err(ctx, "monitor bridge", err)
	}
	m.dropSnoop()
	m.snoop, m.snoopSub, m.whisper, m.in = snoop, sub, whisper, m.bridge
	m.c.log.Info("supervisor monitoring", "supervisor", m.sup.id, "mode", mode, "snoop", snoop)
	return nil
}

func (m *monitor) err(ctx context.Context, what string, err error) error {
	if m.who() != "" {
		return call.ErrHangup
	}
	if ctx.Err() != nil {
		return nil // ended meanwhile: Monitor returns who
	}
	return fmt.Errorf("ari: monitor %s: %s: %w", m.c.id, what, err)
}

func (m *monitor) dropSnoop() {
	if m.snoop == "" {
		return
	}
	m.c.hangupSnoop(m.ctx, m.snoop)
	m.snoopSub.Close()
	m.snoop, m.snoopSub, m.whisper = "", nil, ""
}

// cleanup removes the snoop and the monitor bridge, and takes a supervisor still up out of
// the conversation's bridge: caller and agent stay in it.
func (m *monitor) cleanup() {
	m.dropSnoop()
	ctx, cancel := m.c.bg(m.ctx)
	defer cancel()
	// The supervisor may be in the conversation's bridge although m.in does not say so: a
	// barge whose request Asterisk carried out as ctx ended, so its answer never came.
	in := m.in
	if conv, _ := m.c.bridged(m.agent.id); in == "" || in == m.bridge {
		in = conv
	}
	if in != "" && in != m.bridge && m.sup.ctx.Err() == nil {
		if err := m.c.d.c.RemoveChannels(ctx, in, m.sup.id); err != nil && !IsNotFound(err) {
			level := slog.LevelWarn
			if m.in != in {
				level = slog.LevelDebug // it was most likely never there
			}
			m.c.log.Log(ctx, level, "take the supervisor out of the conversation", "bridge", in, "error", err)
		}
	}
	if m.bridge != "" {
		if err := m.c.d.c.DestroyBridge(ctx, m.bridge); err != nil {
			m.c.log.Warn("destroy monitor bridge", "bridge", m.bridge, "error", err)
		}
	}
}
