package sip

import (
	"fmt"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/sip/media"
)

var _ call.CallRecorder = (*Channel)(nil)

// RecordCall records the leg's conversation to a two-channel WAV at path
// (media.Session.RecordCall): the left channel what the far end says, the right everything
// the leg sends it (prompts, hold music, the bridged agent, a conference or monitoring mix).
// It ends with the call, by Stop or after opts.MaxDuration (call.DefaultMaxCallRecording
// when 0). One recording per leg at a time.
func (c *Channel) RecordCall(path string, opts call.CallRecordOptions) (call.CallRecording, error) {
	if err := c.hungUp(); err != nil {
		return nil, err
	}
	if opts.MaxDuration <= 0 {
		opts.MaxDuration = call.DefaultMaxCallRecording
	}
	r, err := c.sess.RecordCall(path, media.CallRecordOptions{MaxDuration: opts.MaxDuration, Paused: opts.Paused})
	if err != nil {
		return nil, fmt.Errorf("sip: record call: %w", err)
	}
	c.log.Info("recording the conversation", "call", c.id, "path", path, "paused", opts.Paused)
	return callRecording{r}, nil
}

// callRecording is a media.CallRecording seen as a call.CallRecording.
type callRecording struct{ r *media.CallRecording }

func (r callRecording) Pause() bool           { return r.r.Pause() }
func (r callRecording) Resume() bool          { return r.r.Resume() }
func (r callRecording) Done() <-chan struct{} { return r.r.Done() }

func (r callRecording) Stop() (call.RecordedCall, error) {
	res, err := r.r.Stop()
	out := call.RecordedCall{Path: res.Path, Duration: res.Duration, Incomplete: res.Incomplete}
	if len(res.Paused) > 0 {
		out.Paused = make([]call.Span, len(res.Paused))
		for i, s := range res.Paused {
			out.Paused[i] = call.Span{Start: s.Start, End: s.End}
		}
	}
	if err != nil {
		err = fmt.Errorf("sip: record call: %w", err)
	}
	return out, err
}
