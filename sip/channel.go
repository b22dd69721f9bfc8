package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/sip/media"
)

// Channel is one SIP call leg with its RTP session. It implements call.Channel.
type Channel struct {
	s      *Server
	log    *slog.Logger
	id     string // dialog ID
	dir    string // inbound | outbound
	caller call.Party
	dialed string
	agent  string // agent authenticated by digest on this INVITE ("" if none)
	tls    bool   // the dialog's signalling is on TLS
	// srtpPolicy is the call's media protection policy (off on udp and tcp), and srtpOffer
	// the keys hotline offered in a late-offer call's 200, until the ACK answers.
	srtpPolicy media.SRTPPolicy
	srtpOffer  *media.SRTPOffer

	server *sipgo.DialogServerSession // inbound
	client *sipgo.DialogClientSession // outbound
	sess   *media.Session
	neg    media.Negotiation
	sdpVer uint64
	// lateAnswer receives the ACK's body when the INVITE had no SDP (a late offer): hotline
	// offered in its 200, and the caller's answer comes in the ACK. nil otherwise.
	lateAnswer chan []byte

	ctx    context.Context
	cancel context.CancelFunc
	digits *call.Digits

	// far is what the far end asks during the call (Requests, REFER transfers).
	far farEnd
	// sendMu serializes hotline's own requests in the dialog (NOTIFY, BYE): one CSeq each.
	sendMu sync.Mutex
	// do sends an in-dialog request and waits for its final response; nil sends it in the
	// leg's sipgo dialog (unit tests record instead).
	do func(ctx context.Context, req *sip.Request) (*sip.Response, error)

	mu       sync.Mutex
	answered bool
	ended    bool
	cause    call.Cause
	started  time.Time
	done     chan struct{} // closed when end() has released everything
	unwatch  func()        // undoes watch
}

var _ call.Channel = (*Channel)(nil)

func (s *Server) newChannel(dir string, sess *media.Session, neg media.Negotiation) *Channel {
	ctx, cancel := context.WithCancel(s.ctx)
	c := &Channel{
		s: s, log: s.log, dir: dir, sess: sess, neg: neg, sdpVer: 1,
		ctx: ctx, cancel: cancel, digits: call.NewDigits(64),
		started: time.Now(), done: make(chan struct{}),
	}
	mActiveCalls.Inc()
	return c
}

// contact is hotline's Contact in this call's dialog (transport=tls on TLS).
func (c *Channel) contact() *sip.ContactHeader { return &c.s.dialogUA(false, c.tls).ContactHDR }

func (c *Channel) ID() string               { return c.id }
func (c *Channel) Caller() call.Party       { return c.caller }
func (c *Channel) Dialed() string           { return c.dialed }
func (c *Channel) Context() context.Context { return c.ctx }

// Agent is the agent id this caller authenticated as with digest ("" for the public).
func (c *Channel) Agent() string { return c.agent }

// Media exposes the RTP session (for tests and taps).
func (c *Channel) Media() *media.Session { return c.sess }

// watch ends the channel when its media dies or the dialog ends underneath it, and takes
// the digits the session receives, with no goroutine of its own: the session hands digits
// over on its read goroutine, and context.AfterFunc runs the endings.
func (c *Channel) watch() {
	c.sess.OnDigit(c.pushDigit)
	stopMedia := context.AfterFunc(c.sess.Context(), func() {
		if c.ctx.Err() == nil && errors.Is(c.sess.Err(), media.ErrInactive) {
			c.log.Warn("no RTP received: hanging up", "timeout", c.s.cfg.RTPTimeout)
			_ = c.Hangup(call.CauseRecoveryTimer)
		}
	})
	stopDialog := context.AfterFunc(c.dialogContext(), c.remoteHangup)
	c.mu.Lock()
	c.unwatch = func() { stopMedia(); stopDialog() }
	c.mu.Unlock()
}

func (c *Channel) dialogContext() context.Context {
	if c.server != nil {
		return c.server.Context()
	}
	return c.client.Context()
}

func (c *Channel) pushDigit(d rune) {
	if !c.digits.Push(d) {
		c.log.Warn("digit buffer full: dropping digit", "digit", string(d))
	}
}

// infoDigits takes SIP INFO application/dtmf-relay bodies ("Signal=5\r\nDuration=160").
func (c *Channel) infoDigits(body []byte) {
	for _, line := range strings.Split(string(body), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "signal") {
			if v = strings.TrimSpace(v); len(v) == 1 && strings.Contains("0123456789*#ABCD", v) {
				c.pushDigit(rune(v[0]))
			}
		}
	}
}

// Answer sends 200 OK with our SDP and waits for the ACK (retransmitting 200 meanwhile).
func (c *Channel) Answer(ctx context.Context) error {
	c.mu.Lock()
	if c.answered || c.server == nil {
		c.mu.Unlock()
		return nil
	}
	if c.ended {
		c.mu.Unlock()
		return call.ErrHangup
	}
	c.mu.Unlock()
	sdp := media.AnswerSDP(c.s.mediaAddr(c.sess), c.s.sessionID(c), c.sdpVer, c.neg)
	if c.lateAnswer != nil {
		o, err := media.NewSRTPOffer(c.srtpPolicy)
		if err != nil {
			return fmt.Errorf("sip: answer: %w", err)
		}
		c.srtpOffer = o
		sdp = media.OfferSDP(c.s.mediaAddr(c.sess), c.s.sessionID(c), c.sdpVer, c.s.cfg.Codecs, lateOfferDTMF, media.WithSRTP(o))
	}
	res := sip.NewSDPResponseFromRequest(c.server.InviteRequest, sdp)
	// The 200 goes out under sendMu, which a hangup takes to choose between a BYE and an
	// error response: a hangup racing the answer (SIGTERM as the flow answers) waits for the
	// 200 to be written and then sends its BYE, rather than find no 2xx yet, send nothing, and
	// leave the caller in a call nobody ends.
	c.sendMu.Lock()
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		c.sendMu.Unlock()
		return call.ErrHangup
	}
	c.answered = true // from here a hangup is a BYE, not a final error response
	c.mu.Unlock()
	c.sess.Start()
	countRequest("INVITE", 200)
	err := c.server.WriteResponse(res) // returns once the ACK has come (or 64*T1)
	c.sendMu.Unlock()
	if err != nil {
		if c.ctx.Err() != nil {
			return call.ErrHangup
		}
		return fmt.Errorf("sip: answer: %w", err)
	}
	if c.lateAnswer != nil {
		return c.awaitLateAnswer(ctx)
	}
	return nil
}

// lateOfferDTMF is the telephone-event payload type hotline offers when it makes the offer.
const lateOfferDTMF = 101

// lateAnswerWait is how long Answer waits for the ACK carrying the caller's SDP answer: the
// 200 is retransmitted until then (RFC 3261 Timer H, 64*T1).
const lateAnswerWait = 32 * time.Second

// awaitLateAnswer takes the SDP answer from the ACK of a late-offer call and sets the media
// up with it. A missing or unusable answer ends the call (RFC 3261 §13.2.2.4: BYE).
func (c *Channel) awaitLateAnswer(ctx context.Context) error {
	t := time.NewTimer(lateAnswerWait)
	defer t.Stop()
	var body []byte
	select {
	case body = <-c.lateAnswer:
	case <-c.ctx.Done():
		return call.ErrHangup
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		c.log.Warn("no ACK for the 200 of a late-offer call")
		_ = c.Hangup(call.CauseNoResponse)
		return fmt.Errorf("sip: answer: no ACK in %v", lateAnswerWait)
	}
	neg, err := c.s.negotiateAnswer(body, c.srtpOffer)
	if err == nil {
		err = c.sess.SetSRTP(neg.SRTP)
	}
	if err != nil {
		c.log.Warn("late-offer call: unusable answer in the ACK", "error", err)
		_ = c.Hangup(call.CauseIncompatible)
		return fmt.Errorf("sip: answer: the ACK: %w", err)
	}
	c.sess.SetRemote(neg.Remote)
	c.sess.SetCodec(neg.Codec, neg.DTMFPayloadType)
	c.mu.Lock()
	c.neg = neg
	c.mu.Unlock()
	c.log.Info("late-offer call answered", "codec", neg.Codec.Name, "dtmf_pt", neg.DTMFPayloadType, "remote_rtp", neg.Remote, "srtp", neg.SRTP != nil)
	return nil
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

// Play plays prompts paced at 20 ms; with Interruptible a digit stops it and is returned.
func (c *Channel) Play(ctx context.Context, prompts []call.Prompt, opts call.PlayOptions) (string, error) {
	if err := c.hungUp(); err != nil {
		return "", err
	}
	pcms := make([][]int16, 0, len(prompts))
	for _, p := range prompts {
		if p.File == "" {
			pcms = append(pcms, make([]int16, int(p.Silence/time.Millisecond)*8))
			continue
		}
		pcm, err := c.s.prompt.load(p.File)
		if err != nil {
			return "", fmt.Errorf("sip: prompt %q: %w", p.File, err)
		}
		pcms = append(pcms, pcm)
	}
	octx, cancel := c.opContext(ctx)
	defer cancel()
	if opts.Interruptible {
		select { // a digit typed ahead barges in at once
		case d := <-c.digits.C():
			return string(d), nil
		default:
		}
	}
	var digits <-chan rune
	if opts.Interruptible {
		digits = c.digits.C()
	}
	d, err := c.sess.PlayAllUntil(octx, pcms, opts.Loop, digits) // one stream: no gap between prompts
	if err != nil {
		if e := c.hungUp(); e != nil {
			return "", e
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", err
	}
	if d != 0 {
		return string(d), nil
	}
	return "", nil
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

// SendDigits sends RFC 4733 events, 100 ms each with 50 ms gaps.
func (c *Channel) SendDigits(ctx context.Context, digits string) error {
	for _, d := range digits {
		if err := c.hungUp(); err != nil {
			return err
		}
		if err := c.sess.SendDigit(ctx, d, 100*time.Millisecond); err != nil {
			return err
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Record writes the far end's audio to an 8 kHz WAV until max length, silence, '#',
// hangup or ctx. What was recorded before a hangup is kept.
func (c *Channel) Record(ctx context.Context, path string, opts call.RecordOptions) (call.Recording, error) {
	rec := call.Recording{Path: path}
	if err := c.hungUp(); err != nil {
		return rec, err
	}
	if opts.MaxDuration == 0 {
		opts.MaxDuration = audio.DefaultMaxRecording
	}
	if opts.Beep {
		octx, cancel := c.opContext(ctx)
		err := c.sess.Play(octx, beep)
		cancel()
		if err != nil {
			return rec, c.errOr(ctx, err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return rec, fmt.Errorf("sip: record: %w", err)
	}
	w := audio.NewWAVWriter(f)
	r := media.NewRecorder(w, media.RecorderOptions{MaxDuration: opts.MaxDuration, SilenceTimeout: opts.SilenceTimeout})
	frames := make(chan []int16, 256)
	remove := c.sess.AddTap(func(pcm []int16) {
		select {
		case frames <- append([]int16(nil), pcm...):
		default: // the writer fell behind; a gap is better than blocking the media loop
		}
	})
	end := func(reason call.RecordEnd) (call.Recording, error) {
		remove()
		for drained := false; !drained; { // keep what already arrived
			select {
			case pcm := <-frames:
				r.Feed(pcm)
			default:
				drained = true
			}
		}
		err := errors.Join(w.Close(), f.Close())
		rec.Duration, rec.End = w.Duration(), reason
		return rec, err
	}
	maxTimer := time.NewTimer(opts.MaxDuration + time.Second) // backstop if no audio arrives at all
	defer maxTimer.Stop()
	for {
		select {
		case pcm := <-frames:
			if done, why := r.Feed(pcm); done {
				if why == media.EndSilence {
					return end(call.RecordEndSilence)
				}
				return end(call.RecordEndMax)
			}
		case d := <-c.digits.C():
			if opts.EndOnPound && d == '#' {
				return end(call.RecordEndDigit)
			}
		case <-maxTimer.C:
			return end(call.RecordEndMax)
		case <-c.ctx.Done():
			return end(call.RecordEndHangup)
		case <-ctx.Done():
			return end(call.RecordEndStopped)
		}
	}
}

func (c *Channel) errOr(ctx context.Context, err error) error {
	if e := c.hungUp(); e != nil {
		return e
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// beep is 300 ms of 1 kHz at -12 dBFS.
var beep = func() []int16 {
	pcm := make([]int16, 2400)
	for i := range pcm {
		pcm[i] = int16(8192 * math.Sin(2*math.Pi*1000*float64(i)/8000))
	}
	return pcm
}()

// Bridge relays RTP both ways between two native channels until one hangs up or ctx ends.
func (c *Channel) Bridge(ctx context.Context, other call.Channel) (string, error) {
	o, ok := partyOf(other)
	if !ok || o.sess == nil {
		return "", call.ErrNotBridgeable
	}
	if err := c.hungUp(); err != nil {
		return c.id, err
	}
	if err := o.hungUp(); err != nil {
		return o.id, err
	}
	bctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = c.sess.Relay(bctx, o.sess) }()
	go func() { defer wg.Done(); _ = o.sess.Relay(bctx, c.sess) }()
	select {
	case <-c.ctx.Done():
	case <-o.ctx.Done():
	case <-ctx.Done():
	}
	var who string // ctx may be one leg's own context: the legs' state decides
	switch {
	case c.ctx.Err() != nil:
		who = c.id
	case o.ctx.Err() != nil:
		who = o.id
	}
	cancel()
	wg.Wait()
	c.log.Info("bridge ended", "other", o.id, "hung_up", who)
	return who, nil
}

// Hangup ends the call: BYE when answered, a final response before that.
func (c *Channel) Hangup(cause call.Cause) error {
	c.end(cause)
	<-c.done
	return nil
}

// remoteHangup is the far end's BYE (or CANCEL): nothing more to send.
func (c *Channel) remoteHangup() {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.ended, c.cause = true, call.CauseNormal
	c.mu.Unlock()
	c.release(false)
}

func (c *Channel) end(cause call.Cause) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.ended, c.cause = true, cause
	c.mu.Unlock()
	c.release(true)
}

func (c *Channel) release(local bool) {
	defer close(c.done)
	c.cancel()
	c.mu.Lock()
	unwatch := c.unwatch
	c.mu.Unlock()
	if unwatch != nil {
		unwatch()
	}
	c.far.closeNotifies(local, notifyDrain)
	if local {
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
		defer cancel()
		var err error
		c.sendMu.Lock() // a NOTIFY being sent takes its CSeq first
		switch {
		case c.server != nil && c.answered:
			err = c.server.Bye(ctx)
		case c.server != nil:
			status := c.cause.SIPStatus()
			countRequest("INVITE", status)
			err = c.server.Respond(status, statusText(status), nil)
		case c.client != nil:
			err = c.client.Bye(ctx)
		}
		c.sendMu.Unlock()
		if err != nil && !errors.Is(err, sipgo.ErrDialogDoesNotExists) {
			c.log.Debug("hangup signaling", "error", err)
		}
	}
	if c.server != nil {
		_ = c.server.Close()
	} else if c.client != nil {
		_ = c.client.Close()
	}
	_ = c.sess.Close()
	c.s.untrack(c.id)
	mActiveCalls.Dec()
	mCalls.WithLabelValues(c.dir, c.cause.String()).Inc()
	st := c.sess.Stats()
	c.log.Info("call ended", "cause", c.cause, "local", local, "duration", time.Since(c.started).Round(time.Millisecond),
		"rtp_in", st.PacketsReceived, "rtp_out", st.PacketsSent, "rtp_lost", st.PacketsLost,
		"jitter", st.Jitter.Round(100*time.Microsecond))
	c.s.wg.Done()
}
