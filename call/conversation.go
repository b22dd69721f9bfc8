package call

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Recording a conversation and monitoring it, driver-neutral. The call path records the
// caller's leg, which every part of the conversation passes through (agents, holds,
// transfers, three-way calls), and joins a supervisor's leg to a caller and an agent; a
// driver implements how.

// CallRecorder is implemented by channels that can record their conversation in two
// channels: the left holds what the far end (the caller) says, the right what it hears (the
// agents, a colleague in a three-way call, hold music). 8 kHz, 16-bit PCM WAV.
type CallRecorder interface {
	// RecordCall starts recording to path (a file the driver creates, writing what it has
	// as it goes: a crash leaves what was written, with the WAV header written every
	// second). It records until Stop, the channel's end or opts.MaxDuration.
	RecordCall(path string, opts CallRecordOptions) (CallRecording, error)
}

// CallRecordOptions controls RecordCall.
type CallRecordOptions struct {
	MaxDuration time.Duration // 0 = DefaultMaxCallRecording
	// Paused starts the recording paused (silence until Resume).
	Paused bool
}

// DefaultMaxCallRecording bounds a conversation recording: a call left up for a day does not
// fill the disk.
const DefaultMaxCallRecording = 4 * time.Hour

// CallRecording is a conversation recording in progress. Its methods are safe for
// concurrent use.
type CallRecording interface {
	// Pause makes the recording hold silence (and no DTMF) from now until Resume. Pause and
	// Resume are idempotent: they report whether they changed anything.
	Pause() bool
	Resume() bool
	// Stop ends the recording, closes the file and says what it holds. It may be called
	// more than once; later calls return what the first did.
	Stop() (RecordedCall, error)
	// Done is closed when the recording has ended on its own (the channel ended, or
	// MaxDuration was reached); Stop still finishes it.
	Done() <-chan struct{}
}

// RecordedCall is what a finished conversation recording holds.
type RecordedCall struct {
	Path     string
	Duration time.Duration
	// Paused lists the spans that hold silence because the recording was paused, as
	// offsets from its start, in order.
	Paused []Span
	// Incomplete says that some audio could not be written or fetched: what is there is
	// kept, marked so.
	Incomplete bool
}

// Span is a stretch of a recording, as offsets from its start. Stores and APIs write it in
// their own units (milliseconds in hotline's).
type Span struct {
	Start, End time.Duration
}

// MonitorMode is how a supervisor takes part in a conversation they monitor.
type MonitorMode string

// Monitor modes.
const (
	// Listen: the supervisor hears the caller and the agent; nobody hears the supervisor.
	Listen MonitorMode = "listen"
	// Whisper: the supervisor hears both; the agent hears the supervisor, the caller does not.
	Whisper MonitorMode = "whisper"
	// Barge: all three hear each other.
	Barge MonitorMode = "barge"
)

// Valid reports whether m is one of the modes.
func (m MonitorMode) Valid() bool { return m == Listen || m == Whisper || m == Barge }

// Hears says whether party a hears party b in mode m. Parties: 0 the caller, 1 the agent, 2
// the supervisor. Nobody hears themselves.
func (m MonitorMode) Hears(a, b int) bool {
	switch {
	case a == b:
		return false
	case a == 2: // the supervisor hears everyone
		return true
	case b != 2: // caller and agent hear each other
		return true
	case m == Barge:
		return true
	case m == Whisper:
		return a == 1
	}
	return false
}

// MonitorControl is the live mode of a monitoring session: the call path sets it (the
// supervisor's keys, the API), the driver follows it while the session lasts.
// Mode is read without a lock, so a mixer may ask it every frame.
type MonitorControl struct {
	mu      sync.Mutex // serialises Set
	mode    atomic.Pointer[MonitorMode]
	changed chan struct{}
}

// NewMonitorControl starts in mode m.
func NewMonitorControl(m MonitorMode) *MonitorControl {
	c := &MonitorControl{changed: make(chan struct{}, 1)}
	c.mode.Store(&m)
	return c
}

// Mode is the current mode.
func (c *MonitorControl) Mode() MonitorMode { return *c.mode.Load() }

// Set changes the mode; it reports whether it changed. An invalid mode changes nothing.
func (c *MonitorControl) Set(m MonitorMode) bool {
	if !m.Valid() {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if *c.mode.Load() == m {
		return false
	}
	c.mode.Store(&m)
	select {
	case c.changed <- struct{}{}:
	default:
	}
	return true
}

// Changed receives after each change (changes in a burst may arrive as one): read Mode then.
func (c *MonitorControl) Changed() <-chan struct{} { return c.changed }

// Monitorer is implemented by channels (a caller's leg) whose conversation with an agent a
// supervisor's leg can join.
type Monitorer interface {
	// Monitor connects the caller (the receiver), agent and supervisor, each hearing whom
	// ctl's mode says (MonitorMode.Hears), following mode changes at once, until ctx ends
	// or one of the three hangs up. It returns the ID of the one that hung up ("" when ctx
	// ended first). Caller and agent stay up when the supervisor leaves.
	Monitor(ctx context.Context, agent, supervisor Channel, ctl *MonitorControl) (string, error)
}

// MonitorRequest hands a conversation the supervisor's leg that answered, to join in
// Control's mode until the leg hangs up.
type MonitorRequest struct {
	Leg        Channel
	Supervisor string // the supervisor's ID
	By         string // who asked (a token's name, or the supervisor's phone), for the audit
	Control    *MonitorControl
}

func (MonitorRequest) request() {}

// Monitoring is a call's monitoring session, as the live view shows it.
type Monitoring struct {
	Supervisor string
	Mode       MonitorMode
	Since      time.Time
}

// Recording states of a call in progress.
const (
	RecordingOff    = ""          // not recording
	RecordingOn     = "recording" // recording
	RecordingPaused = "paused"    // recording silence
)
