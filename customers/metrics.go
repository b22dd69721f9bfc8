package customers

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	mRefused = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "callbacks", Name: "refused_total",
		Help: "Callback requests refused, by reason: invalid_number, withheld, not_allowed, denied, premium_rate, rate_number, rate_caller, outside_hours, past_slot.",
	}, []string{"reason"})
	mCallbacks = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "callbacks", Name: "requests_total",
		Help: "Callback requests accepted, by source (queue, scheduled, abandoned, api) and whether they updated a waiting callback.",
	}, []string{"source", "updated"})
	mAttempts = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "callbacks", Name: "attempts_total",
		Help: "Callback attempts, by outcome.",
	}, []string{"outcome"})
	mTickets = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "tickets", Name: "created_total",
		Help: "Tickets opened, by kind (voicemail, callback_failed, missed, manual).",
	}, []string{"kind"})
	mDeliveries = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "webhooks", Name: "deliveries_total",
		Help: "Webhook delivery attempts, by event and result (delivered, failed).",
	}, []string{"event", "result"})
	mCallRecordings = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "recordings", Name: "calls_filed_total",
		Help: "Conversation recordings filed in the store, by whether audio is missing (complete, incomplete: recovered after a crash or marked so by the driver).",
	}, []string{"result"})
	mDispositions = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "wrapup", Name: "dispositions_total",
		Help: "Wrap-up dispositions saved, by queue, agent and code (none: a note only); a resubmitted form replacing one is not counted again.",
	}, []string{"queue", "agent", "code"})
	mBatch = promauto.NewHistogram(prometheus.HistogramOpts{
		Namespace: "hotline", Subsystem: "store", Name: "contact_writes_per_commit",
		Help:    "Contact writes of the call path committed together in one transaction (group commit).",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
	})
)
