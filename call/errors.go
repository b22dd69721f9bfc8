package call

import (
	"errors"
	"fmt"
)

var (
	// ErrHangup is returned by channel operations after the call has ended.
	ErrHangup = errors.New("call: channel hung up")
	// ErrTimeout is returned by ReadDigits when no digit arrived in time.
	ErrTimeout = errors.New("call: timed out waiting for digits")
	// ErrNotBridgeable is returned by Bridge when the other channel belongs to another driver.
	ErrNotBridgeable = errors.New("call: channels cannot be bridged across drivers")

	// Dial outcomes, matched with errors.Is against a *DialError.
	ErrBusy        = errors.New("call: busy")
	ErrNoAnswer    = errors.New("call: no answer")
	ErrRejected    = errors.New("call: rejected")
	ErrUnreachable = errors.New("call: unreachable")
)

// DialError is why an Originate failed. It unwraps to one of ErrBusy, ErrNoAnswer,
// ErrRejected or ErrUnreachable, so callers can tell them apart with errors.Is.
type DialError struct {
	Target Target
	Cause  Cause
	Status int   // SIP status of the final response, 0 if none
	Err    error // one of the sentinel outcomes above
}

func (e *DialError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("dial %s: %v (SIP %d, %s)", e.Target, e.Err, e.Status, e.Cause)
	}
	return fmt.Sprintf("dial %s: %v (%s)", e.Target, e.Err, e.Cause)
}

func (e *DialError) Unwrap() error { return e.Err }

// MissReason is the label of a failed dial for counters: busy, no_answer, rejected, unreachable.
func (e *DialError) MissReason() string {
	switch {
	case errors.Is(e.Err, ErrBusy):
		return "busy"
	case errors.Is(e.Err, ErrNoAnswer):
		return "no_answer"
	case errors.Is(e.Err, ErrRejected):
		return "rejected"
	}
	return "unreachable"
}
