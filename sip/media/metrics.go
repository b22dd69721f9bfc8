package media

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Prometheus metrics of all RTP sessions in the process (namespace hotline, subsystem rtp),
// registered on the default registry.
var (
	metricPacketsReceived = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "rtp", Name: "packets_received_total",
		Help: "Valid RTP packets received, all sessions.",
	})
	metricPacketsSent = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "rtp", Name: "packets_sent_total",
		Help: "RTP packets sent (played, DTMF and relayed), all sessions.",
	})
	metricPacketsDropped = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "rtp", Name: "packets_dropped_total",
		Help: "Datagrams received and not used, by reason: malformed, malformed_rtcp (on the RTP or RTCP port), unknown_payload_type, stranger (not from the peer's source), srtp_auth (SRTP/SRTCP failing authentication: wrong key or forged), srtp_replay (SRTP/SRTCP already received); and RTP not sent: send_buffer_full (the socket's send buffer was full; the media clock and the poller do not wait).",
	}, []string{"reason"})
	metricDTMFDigits = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "rtp", Name: "dtmf_digits_total",
		Help: "RFC 4733 DTMF digits, by direction: in (decoded) or out (sent).",
	}, []string{"direction"})
	metricLatched = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "rtp", Name: "latched_total",
		Help: "Sessions that switched from the SDP address to where the peer's RTP comes from (symmetric RTP, NAT).",
	})
	metricCallLoss = promauto.NewHistogram(prometheus.HistogramOpts{
		Namespace: "hotline", Subsystem: "rtp", Name: "session_loss_ratio",
		Help:    "Share of expected RTP packets never received, per ended session (call leg).",
		Buckets: []float64{0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5},
	})
	metricCallJitter = promauto.NewHistogram(prometheus.HistogramOpts{
		Namespace: "hotline", Subsystem: "rtp", Name: "session_jitter_seconds",
		Help:    "Interarrival jitter of received audio at the end of each session (call leg).",
		Buckets: []float64{0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2},
	})
	metricRTCPSent = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "rtp", Name: "rtcp_packets_sent_total",
		Help: "RTCP compound packets sent (sender or receiver reports, and BYE at the end), all sessions.",
	})
	metricRTCPReceived = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "rtp", Name: "rtcp_packets_received_total",
		Help: "Valid RTCP compound packets received (on the RTCP port or multiplexed on the RTP port), all sessions.",
	})
	metricRemoteLoss = promauto.NewHistogram(prometheus.HistogramOpts{
		Namespace: "hotline", Subsystem: "rtp", Name: "session_remote_loss_ratio",
		Help:    "Share of the RTP packets hotline sent that the peer reported lost (RTCP), per ended session whose peer reported.",
		Buckets: []float64{0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5},
	})
	metricRTT = promauto.NewHistogram(prometheus.HistogramOpts{
		Namespace: "hotline", Subsystem: "rtp", Name: "session_rtt_seconds",
		Help:    "Round-trip time to the peer from its RTCP reports (RFC 3550 §6.4.1) at the end of each session that measured one.",
		Buckets: []float64{0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1},
	})
	metricInactivityTimeouts = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "rtp", Name: "inactivity_timeouts_total",
		Help: "Sessions ended because no RTP arrived within the inactivity timeout.",
	})
	metricSessionsActive = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: "hotline", Subsystem: "rtp", Name: "sessions_active",
		Help: "RTP sessions started and not yet ended.",
	})

	// Children resolved once, so the packet path does no label lookups.
	dropMalformed  = metricPacketsDropped.WithLabelValues("malformed")
	dropRTCP       = metricPacketsDropped.WithLabelValues("malformed_rtcp")
	dropUnknownPT  = metricPacketsDropped.WithLabelValues("unknown_payload_type")
	dropStranger   = metricPacketsDropped.WithLabelValues("stranger")
	dropSRTPAuth   = metricPacketsDropped.WithLabelValues("srtp_auth")
	dropSRTPReplay = metricPacketsDropped.WithLabelValues("srtp_replay")
	dropSendFull   = metricPacketsDropped.WithLabelValues("send_buffer_full")
	metricDTMFIn   = metricDTMFDigits.WithLabelValues("in")
	metricDTMFOut  = metricDTMFDigits.WithLabelValues("out")
)
