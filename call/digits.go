package call

import (
	"context"
	"strings"
	"time"
)

// Digits is a channel's buffer of received DTMF digits with the ReadDigits and FlushDigits
// behaviour every driver shares; drivers push what they decode into it.
type Digits struct{ ch chan rune }

// NewDigits makes a buffer holding up to n digits typed ahead.
func NewDigits(n int) *Digits { return &Digits{ch: make(chan rune, n)} }

// Push adds a digit; it reports false (dropping it) when the buffer is full.
func (d *Digits) Push(r rune) bool {
	select {
	case d.ch <- r:
		return true
	default:
		return false
	}
}

// C receives digits, for barge-in and for recordings that end on '#'.
func (d *Digits) C() <-chan rune { return d.ch }

// Flush discards buffered digits.
func (d *Digits) Flush() {
	for {
		select {
		case <-d.ch:
		default:
			return
		}
	}
}

// Read collects digits until opts.Max, a terminator, or a timeout, starting with any typed
// ahead (see Channel.ReadDigits). It ends with ErrHangup when call ends, ctx.Err() when ctx does.
func (d *Digits) Read(ctx, call context.Context, opts DigitOptions) (string, error) {
	if opts.FirstTimeout == 0 {
		opts.FirstTimeout = 5 * time.Second
	}
	if opts.InterTimeout == 0 {
		opts.InterTimeout = 3 * time.Second
	}
	var got []rune
	timer := time.NewTimer(opts.FirstTimeout)
	defer timer.Stop()
	for {
		select {
		case <-call.Done():
			return string(got), ErrHangup
		case <-ctx.Done():
			return string(got), ctx.Err()
		case <-timer.C:
			if len(got) == 0 {
				return "", ErrTimeout
			}
			return string(got), nil
		case r := <-d.ch:
			if strings.ContainsRune(opts.Terminator, r) {
				return string(got), nil
			}
			got = append(got, r)
			if opts.Max > 0 && len(got) >= opts.Max {
				return string(got), nil
			}
			timer.Reset(opts.InterTimeout)
		}
	}
}
