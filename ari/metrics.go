package ari

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	mReconnects = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "ari", Name: "reconnects_total",
		Help: "Event WebSocket connections re-established after a drop (the first connection is not counted).",
	})
	mEvents = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "ari", Name: "events_total",
		Help: "ARI events received, by type (\"other\" for types hotline does not use, \"invalid\" for undecodable ones).",
	}, []string{"type"})
	mRequests = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "ari", Name: "rest_requests_total",
		Help: "ARI REST requests, by method and HTTP status (\"error\" when no response arrived).",
	}, []string{"method", "status"})
	mActiveCalls = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: "hotline", Subsystem: "ari", Name: "calls_active",
		Help: "Channels in progress on the ARI driver (inbound and outbound).",
	})
	mCalls = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "ari", Name: "calls_total",
		Help: "Channels ended on the ARI driver, by direction and hangup cause.",
	}, []string{"direction", "cause"})
)

func countRequest(method string, status int) {
	s := "error"
	if status > 0 {
		s = strconv.Itoa(status)
	}
	mRequests.WithLabelValues(method, s).Inc()
}
