package ari

import (
	"errors"
	"fmt"
	"net/http"
)

var (
	// ErrNotRunning is returned by Originate before Run has connected or after it returned.
	ErrNotRunning = errors.New("ari: driver not running")
	// ErrListening is returned by a second concurrent Listen on the same client.
	ErrListening = errors.New("ari: client already listening for events")
	// ErrBadPrompt is returned by Play for a prompt the driver cannot turn into an Asterisk sound.
	ErrBadPrompt = errors.New("ari: prompt cannot be played")
	// ErrRecordingFailed is returned by Record when Asterisk reports RecordingFailed.
	ErrRecordingFailed = errors.New("ari: recording failed")
	// ErrNotBridged is returned by Monitor when caller and agent could not be put in a
	// conversation bridge (Monitor bridges them itself when they are not yet).
	ErrNotBridged = errors.New("ari: monitor: the caller is not bridged with the agent")
)

// Error is a non-2xx answer from the ARI REST interface. Message is Asterisk's
// {"message": "..."} when the body has one, else the start of the body as text.
type Error struct {
	Method  string
	Path    string
	Status  int
	Message string
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("ari: %s %s: %d %s", e.Method, e.Path, e.Status, msg)
}

// IsNotFound reports whether err is an ARI 404 (no such channel, playback, recording or bridge).
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}
