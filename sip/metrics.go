package sip

import (
	"strconv"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	mRequests = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "sip", Name: "requests_total",
		Help: "SIP requests received, by method and the class of the final response sent (2xx, 4xx ...).",
	}, []string{"method", "class"})
	mActiveCalls = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: "hotline", Subsystem: "sip", Name: "calls_active",
		Help: "Call legs in progress on the native SIP driver (inbound and outbound).",
	})
	mCalls = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "sip", Name: "calls_total",
		Help: "Call legs ended, by direction and hangup cause.",
	}, []string{"direction", "cause"})
	mRejected = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "sip", Name: "invites_rejected_total",
		Help: "INVITEs (new calls and re-INVITEs) refused at the SIP edge, by reason: shutting_down, bad_sdp, no_common_codec, forbidden, locked_out, challenged, bad_request, missing_header, cseq_mismatch, too_many_hops, bad_extension, no_rtp_port, no_dialog, srtp.",
	}, []string{"reason"})
	mReferRejected = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "sip", Name: "refers_rejected_total",
		Help: "REFERs (transfer requests, RFC 3515) refused at the SIP edge, by reason: bad_refer_to, transfer_pending, too_many_refers, no_consumer, no_dialog.",
	}, []string{"reason"})
	mTransfers = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "sip", Name: "transfers_total",
		Help: "Transfers accepted from REFERs, by outcome: the class of their final report (2xx, 4xx ...), untaken (nobody took the request in time) or expired (no final report in the subscription's life).",
	}, []string{"outcome"})
	mBindings = promauto.NewGauge(prometheus.GaugeOpts{
		Namespace: "hotline", Subsystem: "sip", Name: "registrations",
		Help: "Registered contacts (bindings) currently valid; with a store shared by several nodes, the site's (every node reports the same).",
	})
	mRegisters = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "sip", Name: "registrations_total",
		Help: "REGISTER requests by result: ok, unregistered, challenged, forbidden, locked_out, stale, replay, bad_request, store_error (the bindings store failed: 500).",
	}, []string{"result"})
	mSecurityEvents = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hotline", Name: "security_events_total",
		Help: "Security events (the \"security event\" log records, counted also when the log throttles them), by event: InvalidAccountID, InvalidPassword, ChallengeResponseFailed, FailedACL, RequestBadFormat.",
	}, []string{"event"})
	mLockouts = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: "hotline", Subsystem: "sip", Name: "auth_lockouts_total",
		Help: "Digest brute-force locks begun, by scope: source (an IP address) or user (an account, against addresses it was not seen at).",
	}, []string{"scope"})
)

func countRequest(method string, status int) {
	mRequests.WithLabelValues(method, strconv.Itoa(status/100)+"xx").Inc()
}

// countReject counts a refusal: in hotline_sip_requests_total like every response, and, for an
// INVITE, in hotline_sip_invites_rejected_total by its label, for a REFER in
// hotline_sip_refers_rejected_total.
func countReject(method string, rej *StatusError) {
	countRequest(method, rej.Status)
	switch method {
	case string(sip.INVITE):
		mRejected.WithLabelValues(rej.Label).Inc()
	case string(sip.REFER):
		mReferRejected.WithLabelValues(rej.Label).Inc()
	}
}
