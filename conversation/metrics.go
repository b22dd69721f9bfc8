package conversation

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	mRecordings = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "recording", Name: "recordings_total",
		Help: "Conversation recordings ended, by queue and result: kept, incomplete (kept, some audio missing), failed (could not start or be kept).",
	}, []string{"queue", "result"})
	mRecordedSeconds = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "recording", Name: "seconds_total",
		Help: "Seconds of conversation recorded, by queue (paused spans included, as silence).",
	}, []string{"queue"})
	mRecordingPauses = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "recording", Name: "pauses_total",
		Help: "Times a recording started holding silence, by reason: agent (keys or API), sensitive (a flow's sensitive input).",
	}, []string{"reason"})
	mMonitorSessions = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "monitor", Name: "sessions_total",
		Help: "Supervisor monitoring sessions ended, by the mode they began in (listen, whisper, barge).",
	}, []string{"mode"})
	mMonitorSeconds = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "monitor", Name: "seconds_total",
		Help: "Seconds supervisors spent monitoring calls.",
	})
)

var metricAgentLost = promauto.NewCounter(prometheus.CounterOpts{
	Name: "hotline_conversation_agent_lost_total",
	Help: "Conversations whose agent's phone vanished mid-call (a browser tab closed, its network dropped); the caller went back in line.",
})
