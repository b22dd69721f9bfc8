package conversation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/journey"
)

// Recording policies of a queue.
const (
	RecordNever    = "never"
	RecordAlways   = "always"
	RecordOnDemand = "on_demand"
)

// Pause reasons of a tape.
const (
	PauseAgent     = "agent"     // the agent (keys *2/*3) or the API paused it
	PauseSensitive = "sensitive" // a flow's sensitive input is running
)

// Errors of recording actions.
var (
	// ErrRecordingPolicy: the queue's policy does not allow what was asked (start on a
	// never queue, stop on an always queue).
	ErrRecordingPolicy = errors.New("the queue's recording policy does not allow it")
	// ErrNotRecording: pause, resume or stop with no recording running.
	ErrNotRecording = errors.New("the call is not being recorded")
	// ErrCannotRecord: the call's driver cannot record its conversation.
	ErrCannotRecord = errors.New("this call cannot be recorded")
)

// Tapes keeps conversation recordings: where the driver writes one, and how the finished
// file is kept (checksum, the contact's timeline, retention).
type Tapes interface {
	// Begin prepares the recording of j's conversation, answered from queue: the path the
	// driver writes, and save, which keeps the finished file with the agents it holds.
	Begin(ctx context.Context, j *journey.Journey, queue string) (path string, save func(call.RecordedCall, []string) error, err error)
}

// Audit writes what supervisors, agents and integrations did to a call (recording actions,
// monitoring) where the API lists it.
type Audit func(ctx context.Context, action, actor, object string, detail map[string]any)

// Recorder starts, pauses and stops the conversation recordings of every call by its
// queue's policy: `always` from the first agent's answer to the caller's hangup (across
// holds, transfers and three-way calls), `on_demand` when the agent or the API starts it.
// While a flow's sensitive input runs, or the agent pauses it, a tape holds silence.
type Recorder struct {
	Policy func(queue string) string // never, always or on_demand ("" is never)
	Tapes  Tapes
	Calls  *journey.Registry
	Audit  Audit
	Log    *slog.Logger
}

func (r *Recorder) log() *slog.Logger {
	if r.Log == nil {
		return slog.Default()
	}
	return r.Log
}

func (r *Recorder) policy(queue string) string {
	if r == nil || r.Policy == nil {
		return RecordNever
	}
	if p := r.Policy(queue); p != "" {
		return p
	}
	return RecordNever
}

// answered is told that agent answered j from queue: an `always` queue starts the tape,
// and a tape running already notes the agent.
func (r *Recorder) answered(j *journey.Journey, queue, agent string) {
	if r == nil {
		return
	}
	if t := j.Tape(); t != nil {
		t.AddAgent(agent)
		return
	}
	if r.policy(queue) != RecordAlways {
		return
	}
	if _, err := r.start(j, queue, "policy"); err != nil {
		mRecordings.WithLabelValues(queue, "failed").Inc()
		r.log().Warn("conversation not recorded", "call", j.ID(), "queue", queue, "error", err)
		j.Note("recording failed: %v", err)
		return
	}
	j.Tape().AddAgent(agent)
}

func (r *Recorder) start(j *journey.Journey, queue, by string) (bool, error) {
	if j.Tape() != nil {
		return false, nil
	}
	rc, ok := j.Channel().(call.CallRecorder)
	if !ok {
		return false, ErrCannotRecord
	}
	path, save, err := r.Tapes.Begin(context.WithoutCancel(j.Channel().Context()), j, queue)
	if err != nil {
		return false, fmt.Errorf("recording storage: %w", err)
	}
	rec, err := rc.RecordCall(path, call.CallRecordOptions{})
	if err != nil {
		_ = save(call.RecordedCall{}, nil) // nothing was written: the store drops it
		return false, err
	}
	t := journey.NewTape(rec, func(rc call.RecordedCall, agents []string) error {
		err := save(rc, agents)
		result := "kept"
		switch {
		case err != nil:
			result = "failed"
		case rc.Incomplete:
			result = "incomplete"
		}
		mRecordings.WithLabelValues(queue, result).Inc()
		mRecordedSeconds.WithLabelValues(queue).Add(rc.Duration.Seconds())
		if err != nil {
			r.log().Error("recording not kept", "call", j.ID(), "error", err)
		} else {
			r.log().Info("recording kept", "call", j.ID(), "duration", rc.Duration, "paused_spans", len(rc.Paused), "incomplete", rc.Incomplete)
		}
		return err
	})
	j.SetTape(t)
	j.Note("recording started by %s", by)
	r.log().Info("recording started", "call", j.ID(), "queue", queue, "by", by)
	return true, nil
}

// Start starts recording a call connected to an agent (on_demand, or always when it failed
// to start): changed is false when it was recording already.
func (r *Recorder) Start(ctx context.Context, j *journey.Journey, by string) (bool, error) {
	queue := j.Live().Queue
	if r.policy(queue) == RecordNever {
		return false, fmt.Errorf("%w: queue %s never records", ErrRecordingPolicy, queue)
	}
	if !j.Talks() {
		return false, journey.ErrNotTalking
	}
	changed, err := r.start(j, queue, by)
	if err == nil && changed {
		if a := j.Live().Agent; a != "" {
			j.Tape().AddAgent(a)
		}
		r.audit(ctx, "recording.start", by, j)
	}
	return changed, err
}

// Stop stops an on_demand recording and keeps it; an `always` queue's recording runs until
// the caller hangs up.
func (r *Recorder) Stop(ctx context.Context, j *journey.Journey, by string) (bool, error) {
	if r.policy(j.Live().Queue) == RecordAlways {
		return false, fmt.Errorf("%w: queue %s records every call to the end", ErrRecordingPolicy, j.Live().Queue)
	}
	t := j.Tape()
	if t == nil {
		return false, nil
	}
	j.SetTape(nil)
	_, err := t.Stop()
	j.Note("recording stopped by %s", by)
	r.audit(ctx, "recording.stop", by, j)
	return true, err
}

// Pause makes the call's recording hold silence until Resume: idempotent, logged.
func (r *Recorder) Pause(ctx context.Context, j *journey.Journey, by string) (bool, error) {
	t := j.Tape()
	if t == nil {
		return false, ErrNotRecording
	}
	changed := t.Pause(PauseAgent)
	if changed {
		mRecordingPauses.WithLabelValues(PauseAgent).Inc()
	}
	r.log().Info("recording pause", "call", j.ID(), "by", by, "changed", changed)
	if changed {
		j.Note("recording paused by %s", by)
		r.audit(ctx, "recording.pause", by, j)
	}
	return changed, nil
}

// Resume lifts the agent's pause (a sensitive input still running keeps it silent).
func (r *Recorder) Resume(ctx context.Context, j *journey.Journey, by string) (bool, error) {
	t := j.Tape()
	if t == nil {
		return false, ErrNotRecording
	}
	changed := t.Resume(PauseAgent)
	r.log().Info("recording resume", "call", j.ID(), "by", by, "changed", changed)
	if changed {
		j.Note("recording resumed by %s", by)
		r.audit(ctx, "recording.resume", by, j)
	}
	return changed, nil
}

// Sensitive pauses the call's recording while a flow's sensitive input runs (an
// ivr.PrivacyObserver, with the node tracking of journey.Nodes).
func (r *Recorder) Sensitive(callID string, on bool) {
	j := r.Calls.Get(callID)
	if j == nil {
		return
	}
	t := j.Tape()
	if t == nil {
		return
	}
	if on {
		if t.Pause(PauseSensitive) {
			mRecordingPauses.WithLabelValues(PauseSensitive).Inc()
		}
	} else {
		t.Resume(PauseSensitive)
	}
	r.log().Info("recording holds silence for sensitive input", "call", callID, "on", on)
}

// Finish ends the call's recording, if one runs, and keeps it: the caller has hung up.
func (r *Recorder) Finish(j *journey.Journey) {
	if r == nil {
		return
	}
	if t := j.Tape(); t != nil {
		j.SetTape(nil)
		_, _ = t.Stop()
	}
}

func (r *Recorder) audit(ctx context.Context, action, by string, j *journey.Journey) {
	if r.Audit != nil {
		l := j.Live()
		r.Audit(ctx, action, by, j.ID(), map[string]any{"queue": l.Queue, "agent": l.Agent, "contact": j.ContactID()})
	}
}

// keys reads the agent's in-call keys while the agent is connected: *1 starts an on_demand
// recording, *0 stops it, *2 pauses the recording and *3 resumes it. Other digits are
// left alone (the caller hears them as the phone sends them).
func (r *Recorder) keys(ctx context.Context, j *journey.Journey, leg call.Channel, agent string) {
	if r == nil {
		return
	}
	star := false
	for ctx.Err() == nil {
		d, err := leg.ReadDigits(ctx, call.DigitOptions{Max: 1, FirstTimeout: 3 * time.Second})
		if err != nil {
			if errors.Is(err, call.ErrTimeout) {
				star = false // a code is typed at once
				continue
			}
			return
		}
		if d == "*" {
			star = true
			continue
		}
		if !star {
			continue
		}
		star = false
		var changed bool
		switch d {
		case "1":
			changed, err = r.Start(ctx, j, agent)
		case "0":
			changed, err = r.Stop(ctx, j, agent)
		case "2":
			changed, err = r.Pause(ctx, j, agent)
		case "3":
			changed, err = r.Resume(ctx, j, agent)
		default:
			continue
		}
		r.log().Info("agent recording key", "call", j.ID(), "agent", agent, "key", "*"+d, "changed", changed, "error", err)
	}
}
