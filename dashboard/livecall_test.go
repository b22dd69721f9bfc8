package dashboard

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/call"
)

// A leg's statistics become the dashboard's figures: what hotline receives always, what the
// peer hears only once it has reported by RTCP, and the round trip only once measured. A
// peer that sends no RTCP (sipp) has no heard figures at all, not zeros that look perfect.
func TestStatsAudio(t *testing.T) {
	received := call.MediaStats{PacketsReceived: 1450, PacketsExpected: 1500, PacketsLost: 50, Jitter: 41250 * time.Microsecond}
	for _, tc := range []struct {
		name string
		st   call.MediaStats
		want string
	}{
		{"no RTCP from the peer", received,
			`{"packets_received":1450,"packets_lost":50,"lost_ratio":0.03333333333333333,"jitter_ms":41.25}`},
		{"a report before the round trip is known", withRemote(received, 0.25, 20500*time.Microsecond, 0),
			`{"packets_received":1450,"packets_lost":50,"lost_ratio":0.03333333333333333,"jitter_ms":41.25,"heard_lost_ratio":0.25,"heard_jitter_ms":20.5}`},
		{"a report with the round trip", withRemote(received, 0.04, 3*time.Millisecond, 80125*time.Microsecond),
			`{"packets_received":1450,"packets_lost":50,"lost_ratio":0.03333333333333333,"jitter_ms":41.25,"heard_lost_ratio":0.04,"heard_jitter_ms":3,"rtt_ms":80.125}`},
		{"a report of nothing lost", withRemote(received, 0, 0, 0),
			`{"packets_received":1450,"packets_lost":50,"lost_ratio":0.03333333333333333,"jitter_ms":41.25,"heard_lost_ratio":0,"heard_jitter_ms":0}`},
	} {
		got, err := json.Marshal(legAudio(&tc.st))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func withRemote(st call.MediaStats, fraction float64, jitter, rtt time.Duration) call.MediaStats {
	st.ReportsReceived, st.RemoteReported = 1, true
	st.RemoteLost, st.RemoteFractionLost, st.RemoteJitter, st.RTT = 12, fraction, jitter, rtt
	return st
}
