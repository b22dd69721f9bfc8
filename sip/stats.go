package sip

import "github.com/hotline-cc/hotline/call"

var _ call.Measured = (*Channel)(nil)

// MediaStats is the leg's RTP statistics in the call path's terms (call.Measured).
func (c *Channel) MediaStats() (call.MediaStats, bool) {
	if c == nil || c.sess == nil {
		return call.MediaStats{}, false
	}
	st := c.sess.Stats()
	return call.MediaStats{
		PacketsReceived: st.PacketsReceived, PacketsSent: st.PacketsSent,
		PacketsExpected: st.PacketsExpected, PacketsLost: st.PacketsLost, Jitter: st.Jitter,
		ReportsReceived: st.ReportsReceived, RemoteReported: st.RemoteReported, RemoteLost: st.RemoteLost,
		RemoteFractionLost: st.RemoteFractionLost, RemoteJitter: st.RemoteJitter, RTT: st.RTT,
	}, true
}
