package callgen

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Mode is what each call does once hotline answers.
type Mode int

const (
	// Streams holds each call for Config.Hold listening to hotline's hold music, then hangs up.
	Streams Mode = iota
	// IVR listens to the first prompt, presses Config.Digit and waits for hotline to hang up.
	IVR
)

func (m Mode) String() string {
	if m == IVR {
		return "ivr"
	}
	return "streams"
}

// Config says which calls to place. The zero values of the optional fields are the
// defaults shown.
type Config struct {
	Mode    Mode
	Server  netip.AddrPort // hotline's SIP address (UDP)
	Local   netip.Addr     // the address callgen's SIP and RTP sockets bind to (127.0.0.1)
	SIPPort int            // callgen's SIP port (0 = any)
	// RTPPortMin and RTPPortMax bound the even ports of the calls' RTP sockets (RTCP: the
	// port above, bound and never read); default 40000-49998.
	RTPPortMin, RTPPortMax int
	Service                string // the Request-URI user ("hotline")
	Caller                 string // caller numbers are this prefix and the call number ("+86139")

	Calls int           // calls to place
	Rate  float64       // new calls per second
	Hold  time.Duration // Streams: time on hold after the answer (20s)

	Digit      rune          // IVR: the key pressed (RFC 4733 event); default '1'
	DigitAfter time.Duration // IVR: delay from the first prompt packet to the digit (500ms)
	HangupWait time.Duration // IVR: longest wait after the answer for hotline's BYE (20s)

	Silent bool // send no audio (only the IVR digit); by default each call sends a tone
	// ServerPID is hotline's process; when set the report has its RSS growth per call.
	ServerPID int
}

// Timer values of RFC 3261 §17.1.1.2 and §17.1.2.2 for UDP.
const (
	timerT1 = 500 * time.Millisecond
	timerT2 = 4 * time.Second
	timerB  = 64 * timerT1 // also Timer F
)

func (c *Config) withDefaults() (Config, error) {
	o := *c
	if !o.Server.IsValid() || !o.Server.Addr().Is4() {
		return o, errors.New("callgen: the server must be an IPv4 host:port")
	}
	if !o.Local.IsValid() {
		o.Local = netip.MustParseAddr("127.0.0.1")
	}
	if o.RTPPortMin == 0 && o.RTPPortMax == 0 {
		o.RTPPortMin, o.RTPPortMax = 40000, 49998
	}
	o.RTPPortMin += o.RTPPortMin % 2
	if o.RTPPortMin <= 0 || o.RTPPortMax > 65534 || o.RTPPortMin > o.RTPPortMax {
		return o, fmt.Errorf("callgen: RTP ports %d-%d: want an even range within 2-65534", c.RTPPortMin, c.RTPPortMax)
	}
	if o.Service == "" {
		o.Service = "hotline"
	}
	if o.Caller == "" {
		o.Caller = "+86139"
	}
	if o.Calls <= 0 || o.Rate <= 0 {
		return o, fmt.Errorf("callgen: %d calls at %g/s: want both above 0", o.Calls, o.Rate)
	}
	if o.Hold == 0 {
		o.Hold = 20 * time.Second
	}
	if o.Digit == 0 {
		o.Digit = '1'
	}
	if o.DigitAfter == 0 {
		o.DigitAfter = 500 * time.Millisecond
	}
	if o.HangupWait == 0 {
		o.HangupWait = 20 * time.Second
	}
	return o, nil
}
