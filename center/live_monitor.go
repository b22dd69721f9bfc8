package center

import (
	"context"
	"errors"
	"fmt"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/conversation"
	"github.com/hotline-cc/hotline/dashboard"
	"github.com/hotline-cc/hotline/journey"
)

// The dashboard's monitoring and recording controls (dashboard.CallMonitor), carried out by
// the conversation's Monitors and Recorder.

var _ dashboard.CallMonitor = (*live)(nil)

// actorName is who asked, as the audit and the logs name them: "<role>:<token ID>" (the
// token's name is in the dashboard's token list, and may change).
func actorName(by dashboard.Actor) string {
	return fmt.Sprintf("%s:%s", by.Role, by.TokenID)
}

func (l *live) Monitor(ctx context.Context, callID, supervisor string, mode call.MonitorMode, by dashboard.Actor) error {
	return monitorErr(l.monitors.Start(ctx, callID, supervisor, mode, actorName(by)))
}

func (l *live) SetMonitorMode(ctx context.Context, callID string, mode call.MonitorMode, by dashboard.Actor) error {
	_, err := l.monitors.SetMode(ctx, callID, mode, actorName(by))
	return monitorErr(err)
}

func (l *live) StopMonitor(ctx context.Context, callID string, by dashboard.Actor) error {
	return monitorErr(l.monitors.Stop(ctx, callID, actorName(by)))
}

func (l *live) RecordingAction(ctx context.Context, callID string, action dashboard.RecordingAction, by dashboard.Actor) (bool, error) {
	j := l.calls.Get(callID)
	if j == nil {
		return false, dashboard.ErrNoCall
	}
	var changed bool
	var err error
	switch action {
	case dashboard.RecordingStart:
		changed, err = l.recorder.Start(ctx, j, actorName(by))
	case dashboard.RecordingStop:
		changed, err = l.recorder.Stop(ctx, j, actorName(by))
	case dashboard.RecordingPause:
		changed, err = l.recorder.Pause(ctx, j, actorName(by))
	case dashboard.RecordingResume:
		changed, err = l.recorder.Resume(ctx, j, actorName(by))
	default:
		return false, fmt.Errorf("unknown recording action %q", action)
	}
	switch {
	case errors.Is(err, conversation.ErrRecordingPolicy):
		return false, fmt.Errorf("%w: %v", dashboard.ErrRecordingPolicy, err)
	case errors.Is(err, conversation.ErrNotRecording), errors.Is(err, journey.ErrNotTalking), errors.Is(err, conversation.ErrCannotRecord):
		return false, fmt.Errorf("%w: %v", dashboard.ErrNotConnected, err)
	}
	return changed, err
}

// monitorErr maps the conversation's monitoring errors onto the dashboard's.
func monitorErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, conversation.ErrNoCall):
		return dashboard.ErrNoCall
	case errors.Is(err, conversation.ErrMonitored):
		return fmt.Errorf("%w: %v", dashboard.ErrMonitored, err)
	case errors.Is(err, conversation.ErrUnknownSupervisor):
		return fmt.Errorf("%w: %v", dashboard.ErrUnknownSupervisor, err)
	case errors.Is(err, conversation.ErrSupervisorUnreachable):
		return fmt.Errorf("%w: %v", dashboard.ErrSupervisorUnreachable, err)
	case errors.Is(err, conversation.ErrNotMonitored):
		return fmt.Errorf("%w: %v", dashboard.ErrNotMonitored, err)
	case errors.Is(err, journey.ErrNotTalking), errors.Is(err, conversation.ErrCannotMonitor):
		return fmt.Errorf("%w: %v", dashboard.ErrNotConnected, err)
	}
	return err
}
