package sip

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

var (
	ErrUnknownAgent    = errors.New("sip: unknown agent")
	ErrNotRegistered   = errors.New("sip: agent has no registered contact")
	ErrNoTrunk         = errors.New("sip: no trunk configured for calling numbers")
	ErrServerClosed    = errors.New("sip: server closed")
	ErrBadCredentials  = errors.New("sip: wrong user name or password")
	ErrStaleNonce      = errors.New("sip: nonce expired")
	ErrReplay          = errors.New("sip: nonce count replayed")
	ErrNoCredentials   = errors.New("sip: no credentials")
	ErrUnknownUser     = errors.New("sip: no account with this user name")
	ErrForeignNonce    = errors.New("sip: nonce not issued by hotline to this address")
	ErrLockedOut       = errors.New("sip: too many failed authentications; locked out")
	ErrCSeqMismatch    = errors.New("sip: CSeq method differs from the request method")
	ErrTooManyHops     = errors.New("sip: Max-Forwards is 0")
	ErrMissingHeader   = errors.New("sip: mandatory header missing")
	ErrDuplicateHeader = errors.New("sip: header that may appear once appears twice")
	ErrUnsupported     = errors.New("sip: Require names an extension hotline does not support")
	ErrNoDialog        = errors.New("sip: no call with this dialog")
	ErrNoRTPPort       = errors.New("sip: no RTP port for the call")
	ErrTransferPending = errors.New("sip: a transfer on this call is still under way")
	ErrTooManyRefers   = errors.New("sip: too many REFERs on this call")
	ErrNoConsumer      = errors.New("sip: nobody takes transfers on this call")
)

// StatusError is a request hotline refuses, knowing the SIP response that says so: its status
// code and reason phrase, the Warning it carries (RFC 3261 §20.43) or the digest challenge
// (§22.1), and the label it is counted under. Server.reject answers and counts it.
type StatusError struct {
	Status int    // SIP status code, 4xx-6xx
	Reason string // reason phrase, as sent
	// Label is the reason in hotline_sip_invites_rejected_total: shutting_down, bad_sdp,
	// no_common_codec, forbidden, locked_out, challenged, bad_request, missing_header,
	// cseq_mismatch, too_many_hops, bad_extension, no_rtp_port, no_dialog, method_not_allowed; for a REFER (hotline_sip_refers_rejected_total) bad_refer_to,
	// transfer_pending, too_many_refers, no_consumer, no_dialog (and internal, for an error reject was given that is no StatusError).
	Label string
	// WarnCode and WarnText make the Warning header `<code> hotline "<text>"`; 0 sends none.
	WarnCode int
	WarnText string
	// Challenge is a WWW-Authenticate value (401 only); "" sends none.
	Challenge string
	// Allow lists the methods hotline handles (405, RFC 3261 §8.2.1); "" sends none.
	Allow string
	// RetryAfter, in seconds, says when to try again (RFC 3261 §20.33); 0 sends none.
	RetryAfter int
	// Unsupported lists the Require option tags hotline lacks (420, RFC 3261 §20.40).
	Unsupported string
	Err         error
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%d %s: %v", e.Status, e.Reason, e.Err)
}

func (e *StatusError) Unwrap() error { return e.Err }

// Response is the answer to req that carries this refusal.
func (e *StatusError) Response(req *sip.Request) *sip.Response {
	res := sip.NewResponseFromRequest(req, e.Status, e.Reason, nil)
	if e.WarnCode != 0 {
		res.AppendHeader(sip.NewHeader("Warning", fmt.Sprintf("%d hotline %q", e.WarnCode, e.WarnText)))
	}
	if e.Challenge != "" {
		res.AppendHeader(sip.NewHeader("WWW-Authenticate", e.Challenge))
	}
	if e.Allow != "" {
		res.AppendHeader(sip.NewHeader("Allow", e.Allow))
	}
	if e.Unsupported != "" {
		res.AppendHeader(sip.NewHeader("Unsupported", e.Unsupported))
	}
	if e.RetryAfter > 0 {
		res.AppendHeader(sip.NewHeader("Retry-After", strconv.Itoa(e.RetryAfter)))
	}
	return res
}

// The refusals of the SIP edge, one constructor each.

// errShuttingDown: an INVITE while the server closes.
func errShuttingDown() *StatusError {
	return &StatusError{Status: 503, Reason: "Service Unavailable", Label: "shutting_down", Err: ErrServerClosed}
}

// errMalformedSDP: an offer hotline cannot read; the Warning says why (399: miscellaneous).
func errMalformedSDP(err error) *StatusError {
	return &StatusError{Status: 400, Reason: "Bad Request", Label: "bad_sdp", WarnCode: 399, WarnText: err.Error(), Err: err}
}

// errNoCommonCodec: an offer without PCMU or PCMA (305: incompatible media format).
func errNoCommonCodec(err error) *StatusError {
	return &StatusError{Status: 488, Reason: "Not Acceptable Here", Label: "no_common_codec",
		WarnCode: 305, WarnText: "no common codec: PCMU or PCMA required", Err: err}
}

// errForbidden: digest credentials that are wrong (a feature code dialed by a non-agent).
func errForbidden(err error) *StatusError {
	return &StatusError{Status: 403, Reason: "Forbidden", Label: "forbidden", Err: err}
}

// errChallenge: no credentials, or a stale nonce or replayed count: ask again (RFC 3261 §22.2).
func errChallenge(err error, challenge string) *StatusError {
	return &StatusError{Status: 401, Reason: "Unauthorized", Label: "challenged", Challenge: challenge, Err: err}
}

// errBadRequest: a request sipgo's dialog layer refuses (no Contact, say), without a Warning.
func errBadRequest(err error) *StatusError {
	return &StatusError{Status: 400, Reason: "Bad Request", Label: "bad_request", Err: err}
}

// errNoRTPPort: the RTP port range is used up.
func errNoRTPPort(err error) *StatusError {
	return &StatusError{Status: 503, Reason: "Service Unavailable", Label: "no_rtp_port", Err: fmt.Errorf("%w: %w", ErrNoRTPPort, err)}
}

// errNoDialog: an in-dialog request (BYE, re-INVITE, INFO) for no call hotline has
// (RFC 3261 §12.2.2).
func errNoDialog() *StatusError {
	return &StatusError{Status: 481, Reason: "Call/Transaction Does Not Exist", Label: "no_dialog", Err: ErrNoDialog}
}

// errMethodNotAllowed: a method hotline has no handler for (RFC 3261 §8.2.1); Allow says
// which it has.
func errMethodNotAllowed(method sip.RequestMethod) *StatusError {
	return &StatusError{Status: 405, Reason: "Method Not Allowed", Label: "method_not_allowed", Allow: allowedMethods,
		Err: fmt.Errorf("sip: no handler for %s", method)}
}

// errBadReferTo: a REFER without a Refer-To hotline can read (RFC 3515 §2.4.2); the reason
// phrase says whether it was missing, the Warning what is wrong with it.
func errBadReferTo(err error) *StatusError {
	reason := "Bad Refer-To"
	if errors.Is(err, errNoReferTo) {
		reason = "Missing Refer-To"
	}
	return &StatusError{Status: 400, Reason: reason, Label: "bad_refer_to", WarnCode: 399, WarnText: err.Error(), Err: err}
}

var errNoReferTo = fmt.Errorf("%w: no Refer-To header", ErrBadReferTo)

// errTransferPending: a REFER while the leg's last transfer has had no final report
// (RFC 3261 §14.2's 491 for an offer crossing another).
func errTransferPending() *StatusError {
	return &StatusError{Status: 491, Reason: "Request Pending", Label: "transfer_pending", Err: ErrTransferPending}
}

// errTooManyRefers: more REFERs on one leg than a phone sends in earnest; try again later.
func errTooManyRefers(retry time.Duration) *StatusError {
	secs := max(1, int((retry+time.Second-1)/time.Second))
	return &StatusError{Status: 503, Reason: "Service Unavailable", Label: "too_many_refers", RetryAfter: secs,
		WarnCode: 399, WarnText: fmt.Sprintf("more than %d REFERs in %v on this call", referBurst, referWindow),
		Err: ErrTooManyRefers}
}

// errNoConsumer: a REFER on a leg whose call path takes no requests (it never asked for them).
func errNoConsumer() *StatusError {
	return &StatusError{Status: 603, Reason: "Decline", Label: "no_consumer", WarnCode: 399,
		WarnText: "transfers are not taken on this call", Err: ErrNoConsumer}
}

// errLockedOut: digest from a source (or for an account) the guard has locked out after
// failed authentications: refused at once, credentials unread, no new challenge.
func errLockedOut() *StatusError {
	return &StatusError{Status: 403, Reason: "Forbidden", Label: "locked_out", WarnCode: 399,
		WarnText: "too many failed authentications; try again later", Err: ErrLockedOut}
}

// errMissingHeader: a request without a header RFC 3261 §8.1.1 makes mandatory; the reason
// phrase names it.
func errMissingHeader(name string) *StatusError {
	return &StatusError{Status: 400, Reason: "Bad Request: missing " + name + " header", Label: "missing_header",
		Err: fmt.Errorf("%w: %s", ErrMissingHeader, name)}
}

// errCSeqMismatch: a request whose CSeq names another method (RFC 3261 §8.1.1.5; RFC 4475
// §3.1.2.15 mismatch01).
func errCSeqMismatch(cseq, method sip.RequestMethod) *StatusError {
	return &StatusError{Status: 400, Reason: "Bad Request: CSeq method does not match", Label: "cseq_mismatch",
		WarnCode: 399, WarnText: fmt.Sprintf("CSeq method %s in a %s request", cseq, method),
		Err: fmt.Errorf("%w: CSeq %s, request %s", ErrCSeqMismatch, cseq, method)}
}

// errTooManyHops: Max-Forwards 0 (RFC 3261 §16.3 step 3, §20.22; RFC 4475 §3.1.2.4 zeromf).
func errTooManyHops() *StatusError {
	return &StatusError{Status: 483, Reason: "Too Many Hops", Label: "too_many_hops", Err: ErrTooManyHops}
}

// errBadExtension: a Require naming extensions hotline does not implement (RFC 3261
// §8.2.2.3); Unsupported lists them.
func errBadExtension(tags []string) *StatusError {
	list := strings.Join(tags, ", ")
	return &StatusError{Status: 420, Reason: "Bad Extension", Label: "bad_extension", Unsupported: list,
		Err: fmt.Errorf("%w: %s", ErrUnsupported, list)}
}

// errNoTransaction: a CANCEL matching no INVITE in progress (RFC 3261 §9.2).
func errNoTransaction() *StatusError {
	return &StatusError{Status: 481, Reason: "Call/Transaction Does Not Exist", Label: "no_transaction",
		Err: errors.New("sip: CANCEL for no transaction in progress")}
}

// errDuplicateHeader: a header that may appear once, twice (RFC 3261 §7.3.1).
func errDuplicateHeader(name string) *StatusError {
	return &StatusError{Status: 400, Reason: "Bad Request: more than one " + name + " header", Label: "bad_request",
		Err: fmt.Errorf("%w: %s", ErrDuplicateHeader, name)}
}

// errUnsupportedScheme: a Request-URI hotline cannot serve (RFC 3261 §8.2.2.1).
func errUnsupportedScheme(scheme string) *StatusError {
	return &StatusError{Status: 416, Reason: "Unsupported URI Scheme", Label: "bad_request",
		Err: fmt.Errorf("sip: Request-URI scheme %q", scheme)}
}
