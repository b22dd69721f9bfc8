package sip

import (
	"errors"
	"fmt"
)

var (
	ErrUnknownAgent   = errors.New("sip: unknown agent")
	ErrNotRegistered  = errors.New("sip: agent has no registered contact")
	ErrNoTrunk        = errors.New("sip: no trunk configured for calling numbers")
	ErrServerClosed   = errors.New("sip: server closed")
	ErrBadCredentials = errors.New("sip: wrong user name or password")
	ErrStaleNonce     = errors.New("sip: nonce expired")
	ErrReplay         = errors.New("sip: nonce count replayed")
	ErrNoCredentials  = errors.New("sip: no credentials")
)

// StatusError is an error that knows the SIP response it should produce and its metrics label.
type StatusError struct {
	Status int
	Reason string
	Err    error
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%d %s: %v", e.Status, e.Reason, e.Err)
}

func (e *StatusError) Unwrap() error { return e.Err }
