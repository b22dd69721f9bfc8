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
	mSurveys = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "surveys", Name: "answers_total",
		Help: "Post-call survey answers, by queue, agent, scale (csat, nps) and band (csat: satisfied 4-5, unsatisfied 1-3; nps: promoter 9-10, passive 7-8, detractor 0-6).",
	}, []string{"queue", "agent", "scale", "band"})
	mWorkItems = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "worklist", Name: "items_total",
		Help: "Missed contacts filed on the worklist, by reason (abandoned, timeout, no_agent, after_hours, abandoned_in_ivr, voicemail, callback_failed).",
	}, []string{"reason"})
	mWorkClosed = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "worklist", Name: "closed_total",
		Help: "Worklist items closed, by how (called_back, ticket, no_action) and whether they were overdue.",
	}, []string{"how", "overdue"})
	mBatch = promauto.NewHistogram(prometheus.HistogramOpts{
		Namespace: "hotline", Subsystem: "store", Name: "contact_writes_per_commit",
		Help:    "Contact writes of the call path committed together in one transaction (group commit).",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
	})
)
