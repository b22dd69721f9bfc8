package call

import "context"

// What happens during a conversation, driver-neutral: the far end of a connected leg (an
// agent's phone) asks for a transfer or puts the call on hold, and a call can be mixed into
// a three-way conference. A driver implements what its legs can do; the call path asks
// through these interfaces and never sees SIP or ARI.

// Request is something the far end of a connected leg asks for during the call.
type Request interface{ request() }

// TransferRequest is the phone asking to transfer the party it is talking to elsewhere: a
// SIP REFER (RFC 3515) in the leg's dialog, or Asterisk's transfer of the channel.
type TransferRequest struct {
	// Target is the user part of the Refer-To URI (an extension, a queue's short number or
	// a phone number), TargetURI the whole URI as sent.
	Target, TargetURI string
	// Replaces, for an attended transfer (RFC 3891), names the consultation dialog whose far
	// party takes the caller; nil for a blind transfer.
	Replaces *Replaces
	// ReplacesChannel is the ID of the channel Replaces names, when the driver knows it
	// itself (Asterisk reports it); "" otherwise (the call path asks a DialogResolver).
	ReplacesChannel string
	// Report tells the phone how the transfer goes (NOTIFY message/sipfrag, RFC 3515 §2.4.5):
	// 100 while trying, then one final status (200 when connected, 4xx-6xx when it failed).
	// It never blocks for long and may be called after the leg has ended (then it does
	// nothing). Nil when the driver has no way to report.
	Report func(TransferProgress)
}

// Replaces identifies a dialog (RFC 3891 §6.1): its Call-ID and tags as the phone knows them.
type Replaces struct {
	CallID, ToTag, FromTag string
}

// TransferProgress is a status line of a transfer's progress, as a sipfrag carries it.
type TransferProgress struct {
	Status int    // 100, 180, 200, or the failure's 4xx-6xx
	Reason string // reason phrase; for a refusal, why (e.g. "Forbidden: number not allowed")
}

// Final says whether the progress ends the transfer.
func (p TransferProgress) Final() bool { return p.Status >= 200 }

// HoldRequest is the phone putting the call on hold (an SDP direction of sendonly or
// inactive, RFC 3264 §8.4) or taking it off hold.
type HoldRequest struct{ Hold bool }

// ConsultRequest is an agent starting a consultation from their phone: a second call, Leg,
// to Target (a colleague's extension) while the caller holds — the first half of an
// attended transfer. The conversation connects Leg to the colleague; the consultation ends
// when Leg or the colleague hangs up, or a REFER with Replaces joins the caller and the
// colleague (then Leg is hung up).
type ConsultRequest struct {
	Leg    Channel
	Target string
}

// ConferenceRequest is the agent asking to merge the caller, themselves and the colleague
// they are consulting into one three-way call, which goes on between the caller and the
// colleague when the agent leaves it. Done, if set, is told whether the merge happened.
type ConferenceRequest struct {
	Done func(error)
}

func (TransferRequest) request()   {}
func (ConferenceRequest) request() {}
func (HoldRequest) request()       {}
func (ConsultRequest) request()    {}

// Requester is implemented by legs that deliver their far end's requests during a call.
type Requester interface {
	// Requests delivers the far end's requests in the order they came. The channel is
	// closed when the leg has ended. Requests that nobody reads are answered by the driver
	// as refused after a short while, so a phone is never left waiting.
	Requests() <-chan Request
}

// Conferencer is implemented by channels that can mix their audio with several others: each
// party hears every other, nobody hears themselves.
type Conferencer interface {
	// Conference mixes ch with others until ctx ends or one of them hangs up, and returns
	// the ID of the one that hung up ("" when ctx ended first).
	Conference(ctx context.Context, others ...Channel) (string, error)
}

// DialogResolver is implemented by drivers that can name the channel of a dialog a phone
// refers to: the Replaces of an attended transfer (RFC 3891) is a dialog as the phone knows
// it, and the call path needs the channel to take the caller over.
type DialogResolver interface {
	// Resolve returns the ID (as Channel.ID gives it) of the live channel whose dialog r
	// names; ok is false when the driver has no such channel.
	Resolve(r Replaces) (channelID string, ok bool)
}
