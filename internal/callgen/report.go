package callgen

import (
	"time"
)

// Report is what a run measured.
type Report struct {
	Mode            Mode
	Calls           int            // placed
	Answered        int            // got a 200 to the INVITE
	OK              int            // went as the mode wants, start to end
	Failures        map[string]int // failed calls by reason ("INVITE 503", "BYE 481", ...)
	Retransmissions int            // INVITEs and BYEs callgen sent again (Timers A and E)
	Setup           *Histogram     // first INVITE sent -> 200 received (kernel time)
	RX              *Reception     // hotline's RTP, every call
	DigitsSent      int            // IVR: calls that pressed the digit
	PeakLive        int            // answered calls up at once, at most
	PeakStreaming   int            // of them receiving RTP (a packet within 100 ms), at most
	SocketDrops     uint64         // RTP dropped by callgen's full socket buffers (counted in RX.Lost too)
	RTPSent         uint64         // packets callgen sent (audio and DTMF)
	RTPSendErrors   uint64         // of them refused by the socket (buffer full)
	FramesSkipped   uint64         // frames not sent because callgen ran more than 20 ms late
	SIPSendErrors   int            // SIP datagrams refused by the socket
	TickLateMax     time.Duration  // how late the shared 1 ms send ticker ran, at most
	RoundMax        time.Duration  // the longest round of callgen's own work
	WakeLateMax     time.Duration  // how much later than asked the kernel woke callgen, at most
	Elapsed         time.Duration
	CPU             time.Duration // callgen's own user+system time over the run
	ServerCPU       time.Duration // hotline's, when ServerPID is set
	OtherCPU        time.Duration // every other process's on the machine: what bent the figures
	// Server memory (VmRSS, KiB) when ServerPID is set: before the first call and the
	// highest sampled every 100 ms.
	RSSBase, RSSPeak int64
	Per              []CallTiming
}

// CallTiming is one call's timing.
type CallTiming struct {
	Setup     time.Duration // INVITE -> 200; 0 if unanswered
	FirstRTP  time.Duration // 200 -> first RTP packet from hotline; 0 if none
	Packets   uint64        // RTP packets received
	Result    string        // "ok" or the failure
	HungUpBy  string        // "callgen", "hotline" or ""
	Answered  bool
	DigitSent bool
}

// Failed is the number of calls that did not go as the mode wants.
func (r *Report) Failed() int {
	n := 0
	for _, c := range r.Failures {
		n += c
	}
	return n
}

// KiBPerCall is the server's RSS growth over the peak of live calls, or 0 if unmeasured.
func (r *Report) KiBPerCall() float64 {
	if r.RSSBase == 0 || r.PeakLive == 0 {
		return 0
	}
	return float64(r.RSSPeak-r.RSSBase) / float64(r.PeakLive)
}
