// Package sim runs flows without a telephone: a scripted caller on a simulated channel,
// scripted services (queue, voicemail, callback, customers, webhooks), a printer for
// `hotline flow sim`, and the flow test files of `hotline flow test`. It must not be used to
// carry real calls.
package sim

import (
	"context"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/call"
)

// Clock is simulated time: it moves only when the simulated call waits.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts simulated time at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the simulated time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves simulated time on.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Action is something that happened on the simulated channel.
type Action struct {
	Kind    string // play, press, timeout, hangup, record, bridge
	Prompts []call.Prompt
	Digits  string
	Detail  string
}

// Channel is a call.Channel driven by a script of what the caller types.
//
// Each script token is what the caller does at one prompt that waits for keys:
// digits ("2", "1234#"), "timeout" (says nothing) or "hangup". Digits beyond what a
// read takes stay typed ahead for the next one. When the script runs out the caller
// hangs up, unless Ask supplies more (interactive sim).
type Channel struct {
	id     string
	caller call.Party
	dialed string
	clock  *Clock
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	script []string
	buffer string
	acts   []Action

	// Ask, when set, is asked for the next token once the script is empty; ok false hangs up.
	Ask func() (token string, ok bool)
	// OnAction, when set, sees each action as it happens.
	OnAction func(Action)
	// RecordFor is how long the caller speaks when recorded (default 12 s; 0 after
	// NoMessage means they say nothing).
	RecordFor time.Duration
	// Block, when set, is called before each read of digits; it may block (tests use it to
	// hold a call still mid-flow).
	Block func()
}

// NewChannel makes a simulated, not yet hung up, channel.
func NewChannel(id, caller, dialed string, clock *Clock, script []string) *Channel {
	ctx, cancel := context.WithCancel(context.Background())
	return &Channel{id: id, caller: call.Party{Number: caller}, dialed: dialed, clock: clock,
		ctx: ctx, cancel: cancel, script: append([]string(nil), script...), RecordFor: 12 * time.Second}
}

func (c *Channel) ID() string               { return c.id }
func (c *Channel) Caller() call.Party       { return c.caller }
func (c *Channel) Dialed() string           { return c.dialed }
func (c *Channel) Context() context.Context { return c.ctx }

func (c *Channel) Answer(ctx context.Context) error { return c.alive(ctx) }

func (c *Channel) alive(ctx context.Context) error {
	if c.ctx.Err() != nil {
		return call.ErrHangup
	}
	return ctx.Err()
}

// Actions is everything that happened so far.
func (c *Channel) Actions() []Action {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Action(nil), c.acts...)
}

// Prompts is the text of every prompt played, in order.
func (c *Channel) Prompts() []string {
	var out []string
	for _, a := range c.Actions() {
		for _, p := range a.Prompts {
			if p.Text != "" {
				out = append(out, p.Text)
			}
		}
	}
	return out
}

func (c *Channel) act(a Action) {
	c.mu.Lock()
	c.acts = append(c.acts, a)
	on := c.OnAction
	c.mu.Unlock()
	if on != nil {
		on(a)
	}
}

func (c *Channel) Play(ctx context.Context, prompts []call.Prompt, opts call.PlayOptions) (string, error) {
	if err := c.alive(ctx); err != nil {
		return "", err
	}
	c.act(Action{Kind: "play", Prompts: prompts})
	for _, p := range prompts {
		c.clock.Advance(p.Silence)
	}
	if opts.Interruptible {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.buffer != "" {
			d := c.buffer[:1]
			c.buffer = c.buffer[1:]
			return d, nil
		}
	}
	return "", nil
}

// next takes the caller's next token. ok false: the caller hangs up.
func (c *Channel) next() (string, bool) {
	c.mu.Lock()
	if len(c.script) > 0 {
		t := c.script[0]
		c.script = c.script[1:]
		c.mu.Unlock()
		return t, true
	}
	ask := c.Ask
	c.mu.Unlock()
	if ask != nil {
		return ask()
	}
	return "", false
}

func (c *Channel) ReadDigits(ctx context.Context, opts call.DigitOptions) (string, error) {
	if c.Block != nil {
		c.Block()
	}
	if err := c.alive(ctx); err != nil {
		return "", err
	}
	c.mu.Lock()
	empty := c.buffer == ""
	c.mu.Unlock()
	if empty {
		tok, ok := c.next()
		tok = strings.TrimSpace(tok)
		switch {
		case !ok || tok == "hangup":
			c.act(Action{Kind: "hangup"})
			c.cancel()
			return "", call.ErrHangup
		case tok == "timeout" || tok == "" || tok == "-":
			c.clock.Advance(opts.FirstTimeout)
			c.act(Action{Kind: "timeout", Detail: opts.FirstTimeout.String()})
			return "", call.ErrTimeout
		}
		c.mu.Lock()
		c.buffer = tok
		c.mu.Unlock()
		c.act(Action{Kind: "press", Digits: tok})
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var got strings.Builder
	for len(c.buffer) > 0 {
		d := c.buffer[:1]
		c.buffer = c.buffer[1:]
		if opts.Terminator != "" && strings.Contains(opts.Terminator, d) {
			return got.String(), nil
		}
		got.WriteString(d)
		if opts.Max > 0 && got.Len() >= opts.Max {
			return got.String(), nil
		}
	}
	// the caller stopped typing: the inter-digit timeout ends the entry
	c.clock.Advance(opts.InterTimeout)
	return got.String(), nil
}

func (c *Channel) FlushDigits() {
	c.mu.Lock()
	c.buffer = ""
	c.mu.Unlock()
}

func (c *Channel) SendDigits(ctx context.Context, digits string) error { return c.alive(ctx) }

// Record "records" RecordFor of speech into a silent WAV at path. A "hangup" token next in
// the script means the caller hangs up while recording (the message is still kept).
func (c *Channel) Record(ctx context.Context, path string, opts call.RecordOptions) (call.Recording, error) {
	if err := c.alive(ctx); err != nil {
		return call.Recording{}, err
	}
	d := c.RecordFor
	if opts.MaxDuration > 0 && d > opts.MaxDuration {
		d = opts.MaxDuration
	}
	end := call.RecordEndSilence
	if d == opts.MaxDuration {
		end = call.RecordEndMax
	}
	c.mu.Lock()
	hang := len(c.script) > 0 && c.script[0] == "hangup"
	if hang {
		c.script = c.script[1:]
		end = call.RecordEndHangup
	}
	c.mu.Unlock()
	if err := writeSilentWAV(path, d); err != nil {
		return call.Recording{}, err
	}
	c.clock.Advance(d + opts.SilenceTimeout)
	c.act(Action{Kind: "record", Detail: d.String() + " of speech, ended by " + string(end)})
	if hang {
		c.act(Action{Kind: "hangup"})
		c.cancel()
	}
	return call.Recording{Path: path, Duration: d, End: end}, nil
}

func (c *Channel) Bridge(ctx context.Context, other call.Channel) (string, error) {
	if err := c.alive(ctx); err != nil {
		return "", err
	}
	c.act(Action{Kind: "bridge", Detail: other.ID()})
	return other.ID(), nil
}

func (c *Channel) Hangup(cause call.Cause) error {
	c.cancel()
	return nil
}

// writeSilentWAV writes d of 8 kHz mono PCM16 silence (capped at a second: it stands for speech).
func writeSilentWAV(path string, d time.Duration) error {
	n := int(min(d, time.Second) * audio.SampleRate / time.Second)
	return os.WriteFile(path, audio.EncodeWAV(audio.SampleRate, 1, make([]int16, n)), 0o600)
}
