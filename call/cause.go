package call

import "strconv"

// Cause is a hangup cause, numbered as ITU-T Q.850 (the numbering SIP, ISDN and Asterisk share).
type Cause int

const (
	CauseNormal        Cause = 16 // normal clearing
	CauseBusy          Cause = 17 // user busy
	CauseNoResponse    Cause = 18 // no user responding (unreachable)
	CauseNoAnswer      Cause = 19 // no answer from user (alerted)
	CauseRejected      Cause = 21 // call rejected
	CauseUnallocated   Cause = 1  // unallocated number
	CauseNoCircuit     Cause = 34 // no circuit available
	CauseTempFailure   Cause = 41
	CauseIncompatible  Cause = 88 // incompatible destination (no common codec)
	CauseRecoveryTimer Cause = 102
	CauseInterworking  Cause = 127
)

var causeNames = map[Cause]string{
	CauseNormal: "normal", CauseBusy: "busy", CauseNoResponse: "no_response",
	CauseNoAnswer: "no_answer", CauseRejected: "rejected", CauseUnallocated: "unallocated",
	CauseNoCircuit: "no_circuit", CauseTempFailure: "temporary_failure",
	CauseIncompatible: "incompatible", CauseRecoveryTimer: "timeout", CauseInterworking: "interworking",
}

func (c Cause) String() string {
	if n, ok := causeNames[c]; ok {
		return n
	}
	return "cause_" + strconv.Itoa(int(c))
}

// SIPStatus is the final response sent for a call refused with this cause before answer
// (RFC 3398 §8.2.6.1 mapping, the subset we use).
func (c Cause) SIPStatus() int {
	switch c {
	case CauseBusy:
		return 486
	case CauseNoAnswer, CauseNoResponse:
		return 480
	case CauseRejected:
		return 603
	case CauseUnallocated:
		return 404
	case CauseIncompatible:
		return 488
	case CauseNoCircuit, CauseTempFailure:
		return 503
	}
	return 480
}

// CauseFromSIP maps a final SIP response status to a cause (RFC 3398 §7.2.4.1, subset).
func CauseFromSIP(status int) Cause {
	switch status {
	case 486, 600:
		return CauseBusy
	case 408:
		return CauseNoResponse
	case 480:
		return CauseNoAnswer
	case 403, 603:
		return CauseRejected
	case 404, 410, 484:
		return CauseUnallocated
	case 488, 606:
		return CauseIncompatible
	case 487:
		return CauseNormal
	case 500, 502, 503, 504:
		return CauseTempFailure
	}
	return CauseInterworking
}
