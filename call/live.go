package call

import "time"

// State is where a call in progress is on its journey.
type State string

// Call states, in the order a caller usually meets them.
const (
	StateIVR       State = "ivr"       // in the flow
	StateQueued    State = "queued"    // waiting in a queue (or a callback holding a place)
	StateRinging   State = "ringing"   // an agent is being rung
	StateConnected State = "connected" // talking to an agent
)

// Live is a call in progress as every view (dashboard, API, agent desktop) reads it. The call
// path defines it; each view maps it to its own wire format.
type Live struct {
	ID         string
	Caller     Party
	Dialed     string
	State      State
	Queue      string // the queue it waits in or was answered from
	Agent      string // the agent being rung or connected
	Started    time.Time
	Since      time.Time // when it entered its current state
	Flow       string
	Node       string // the flow node it is in
	Position   int    // in the queue, 1-based, while queued
	OnHold     bool   // connected, and the agent has put the caller on hold
	CustomerID string
	Recording  string      // RecordingOff, RecordingOn or RecordingPaused
	Monitor    *Monitoring // a supervisor monitoring the call, nil if none

	// Media quality, read when the view is taken: nil when hotline does not terminate that
	// leg's RTP (Asterisk carries it), the agent's only while connected.
	CallerMedia, AgentMedia *MediaStats
}

// MediaStats is what hotline has received on one leg since it was set up, as an RTCP receiver
// report would put it (RFC 3550 §6.4.1), and what the peer reports hearing of hotline's audio.
type MediaStats struct {
	PacketsReceived uint64        // valid RTP packets received
	PacketsSent     uint64        // RTP packets sent
	PacketsExpected uint64        // received sequence numbers span this many
	PacketsLost     uint64        // expected and never received
	Jitter          time.Duration // interarrival jitter of the received audio (RFC 3550 A.8)

	// From the peer's RTCP (RFC 3550 §6.4): zero until it reports.
	ReportsReceived    uint64        // SR and RR packets received
	RemoteReported     bool          // a report block about hotline's stream arrived
	RemoteLost         uint64        // the peer's cumulative count of hotline's packets lost
	RemoteFractionLost float64       // share lost in the peer's last interval, 0..1
	RemoteJitter       time.Duration // the peer's interarrival jitter of hotline's stream
	RTT                time.Duration // round trip from LSR/DLSR (§6.4.1); 0 until measured
}

// LossRatio is the share of expected packets lost, 0 when nothing was expected.
func (s MediaStats) LossRatio() float64 {
	if s.PacketsExpected == 0 {
		return 0
	}
	return float64(s.PacketsLost) / float64(s.PacketsExpected)
}

// Measured is implemented by channels whose RTP hotline terminates (the native SIP driver's).
type Measured interface {
	// MediaStats is the leg's statistics so far; false when it has no media session.
	MediaStats() (MediaStats, bool)
}

// StatsOf is ch's media statistics, nil when hotline does not terminate its RTP.
func StatsOf(ch Channel) *MediaStats {
	m, ok := ch.(Measured)
	if !ok {
		return nil
	}
	st, ok := m.MediaStats()
	if !ok {
		return nil
	}
	return &st
}
