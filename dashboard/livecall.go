package dashboard

import (
	"time"

	"github.com/hotline-cc/hotline/call"
)

// LiveCallOf is a call in progress as the API shows it.
func LiveCallOf(l call.Live) LiveCall {
	lc := LiveCall{ID: l.ID, Caller: l.Caller.Number, CallerName: l.Caller.Name, Dialed: l.Dialed,
		State: l.State, Queue: l.Queue, Agent: l.Agent, Started: l.Started, Since: l.Since, Flow: l.Flow,
		Node: l.Node, Position: l.Position, OnHold: l.OnHold, CustomerID: l.CustomerID}
	if a := (CallAudio{Caller: legAudio(l.CallerMedia), Agent: legAudio(l.AgentMedia)}); a.Caller != nil || a.Agent != nil {
		lc.Audio = &a
	}
	switch l.Recording {
	case call.RecordingOn:
		lc.Recording = RecordingOn
	case call.RecordingPaused:
		lc.Recording = RecordingPaused
	default:
		lc.Recording = RecordingOff
	}
	if m := l.Monitor; m != nil {
		lc.Monitor = &MonitorState{Supervisor: m.Supervisor, Mode: m.Mode, Since: m.Since}
	}
	return lc
}

// legAudio is a leg's statistics as the dashboard shows them: what hotline receives, and,
// once the peer has sent an RTCP report about hotline's stream, what the peer hears of it.
func legAudio(st *call.MediaStats) *LegAudio {
	if st == nil {
		return nil
	}
	a := &LegAudio{PacketsReceived: st.PacketsReceived, PacketsLost: st.PacketsLost,
		LostRatio: st.LossRatio(), JitterMS: millis(st.Jitter)}
	if st.RemoteReported {
		lost, jitter := st.RemoteFractionLost, millis(st.RemoteJitter)
		a.HeardLostRatio, a.HeardJitterMS = &lost, &jitter
		if st.RTT > 0 {
			rtt := millis(st.RTT)
			a.RTTMS = &rtt
		}
	}
	return a
}

// millis is d in milliseconds, to the microsecond.
func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
