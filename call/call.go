// Package call is the driver-neutral telephone call: the Channel interface that the
// native SIP driver and the Asterisk ARI driver implement, and that the IVR and ACD use.
// It holds no I/O of its own and must not import any driver, flow or queue code.
package call

import (
	"context"
	"time"
)

// Party identifies one end of a call.
type Party struct {
	Number string // as signalled (user part of the URI or caller ID); "" or "anonymous" when withheld
	Name   string // display name, if any
}

// Withheld reports whether the party's number was withheld or missing.
func (p Party) Withheld() bool {
	switch p.Number {
	case "", "anonymous", "Anonymous", "unknown", "restricted", "private":
		return true
	}
	return false
}

// Prompt is one piece of audio to play: a WAV file or a stretch of silence.
// Drivers resolve File themselves: the native driver reads and resamples it,
// the ARI driver maps it to a sound in the directory it shares with Asterisk.
type Prompt struct {
	File    string        // path to a WAV file (any of 8/16/22.05/44.1/48 kHz PCM16, or G.711)
	Silence time.Duration // used when File is empty
	Text    string        // what the prompt says, for logs and simulators; never needed to play it
}

// PlayOptions controls Play.
type PlayOptions struct {
	// Interruptible lets a DTMF digit stop playback (barge-in). The digit is consumed
	// and returned by Play; later digits stay buffered for ReadDigits.
	Interruptible bool
	// Loop repeats the prompts until ctx ends or a digit barges in (music on hold).
	Loop bool
}

// DigitOptions controls ReadDigits.
type DigitOptions struct {
	Max          int           // stop after this many digits (0 = no limit, needs Terminator)
	Terminator   string        // digits that end input (e.g. "#"); not included in the result
	FirstTimeout time.Duration // time allowed for the first digit
	InterTimeout time.Duration // time allowed between digits
}

// RecordOptions controls Record.
type RecordOptions struct {
	MaxDuration    time.Duration // hard limit (0 = 5 minutes)
	SilenceTimeout time.Duration // end after this much silence (0 = never)
	EndOnPound     bool          // '#' ends the recording
	Beep           bool          // play a short tone before recording
}

// RecordEnd says why a recording stopped.
type RecordEnd string

const (
	RecordEndMax     RecordEnd = "max"
	RecordEndSilence RecordEnd = "silence"
	RecordEndDigit   RecordEnd = "digit"
	RecordEndHangup  RecordEnd = "hangup"
	RecordEndStopped RecordEnd = "stopped" // ctx cancelled by the caller of Record
)

// Recording is the result of Record: an 8 kHz mono PCM16 WAV at Path.
type Recording struct {
	Path     string
	Duration time.Duration
	End      RecordEnd
}

// Channel is one leg of a call, answered or being answered, on any driver.
//
// The goroutine that receives a Channel from a driver owns it: when that goroutine
// is done it must call Hangup, which releases every resource. Context ends when the
// call ends for any reason (remote hangup, media timeout, local Hangup).
type Channel interface {
	ID() string
	Caller() Party
	Dialed() string // the number or user the caller dialed
	Context() context.Context

	// Answer accepts an inbound call. It is a no-op for an answered or outbound channel.
	Answer(ctx context.Context) error
	// Play plays prompts in order and returns the digit that barged in ("" if none).
	Play(ctx context.Context, prompts []Prompt, opts PlayOptions) (string, error)
	// ReadDigits collects DTMF digits, starting with any the caller typed ahead.
	// A timeout with no digits returns "" and ErrTimeout; a timeout after some digits
	// returns them with a nil error.
	ReadDigits(ctx context.Context, opts DigitOptions) (string, error)
	// FlushDigits discards buffered digits.
	FlushDigits()
	// SendDigits sends DTMF (RFC 4733 on the native driver).
	SendDigits(ctx context.Context, digits string) error
	// Record writes what the far end says to a WAV file at path.
	Record(ctx context.Context, path string, opts RecordOptions) (Recording, error)
	// Bridge joins this channel with other until either hangs up or ctx ends.
	// It returns the ID of the channel that hung up ("" when ctx ended first).
	Bridge(ctx context.Context, other Channel) (string, error)
	// Hangup ends the call with a cause. Calling it again is a no-op.
	Hangup(cause Cause) error
}

// Target is whom a Dialer calls: a registered agent or a SIP URI / number.
type Target struct {
	Agent string // agent id (native: registered contacts; ARI: PJSIP/<agent>)
	URI   string // sip:user@host or a number routed by the driver's trunk
}

func (t Target) String() string {
	if t.Agent != "" {
		return "agent:" + t.Agent
	}
	return t.URI
}

// OriginateOptions controls an outbound call.
type OriginateOptions struct {
	CallerID    Party
	RingTimeout time.Duration // 0 = 30 s; on expiry the attempt is cancelled with ErrNoAnswer
}

// Dialer places outbound calls. Originate blocks until the far end answers (returning an
// answered Channel the caller now owns), or fails with a *DialError.
type Dialer interface {
	Originate(ctx context.Context, to Target, opts OriginateOptions) (Channel, error)
}

// Handler receives inbound calls. The driver calls it on a goroutine of its own and
// hangs the channel up when it returns.
type Handler func(ch Channel)
