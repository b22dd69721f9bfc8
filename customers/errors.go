package customers

import (
	"errors"
	"fmt"
)

var (
	// ErrNotFound: no customer, contact, callback, ticket or recording has this ID.
	ErrNotFound = errors.New("customers: not found")
	// ErrWithheld: the caller's number is withheld; it identifies no one.
	ErrWithheld = errors.New("customers: number withheld")
	// ErrInvalidIdentity: a phone number, account or e-mail address that cannot be read.
	ErrInvalidIdentity = errors.New("customers: invalid identity")
	// ErrInvalid: a value the store does not accept (an unknown outcome, status, priority ...).
	ErrInvalid = errors.New("customers: invalid value")
	// ErrNotPending: the callback is no longer waiting (another node took it, or it ended).
	ErrNotPending = errors.New("customers: callback is not pending")
	// ErrClaimed: another node holds the callback queued (or is dialling it).
	ErrClaimed = errors.New("customers: callback is claimed by another node")
	// ErrErased: the customer's personal data was erased.
	ErrErased = errors.New("customers: customer erased")
	// ErrBadCursor: a page cursor that this store did not hand out.
	ErrBadCursor = errors.New("customers: bad page cursor")
	// ErrBadSignature: a webhook body whose signature does not match.
	ErrBadSignature = errors.New("customers: webhook signature does not match")
	// ErrEraseIncomplete: Erase removed the customer's data from the database, but not all
	// of it outside (a recording file, a rendered prompt, the SQLite write-ahead log): erase
	// again to finish.
	ErrEraseIncomplete = errors.New("customers: erasure incomplete")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("customers: store closed")
)

// IdentityTakenError: the identity already belongs to another customer. Nothing was moved;
// Merge the two records if they are one person.
type IdentityTakenError struct {
	Identity Identity
	Owner    string // the customer who has it
}

func (e *IdentityTakenError) Error() string {
	return fmt.Sprintf("customers: %s %s already belongs to customer %s", e.Identity.Kind, e.Identity.Value, e.Owner)
}

// RefusalCode is why a callback was refused, as a metrics label.
type RefusalCode string

const (
	RefusedInvalidNumber RefusalCode = "invalid_number"
	RefusedWithheld      RefusalCode = "withheld"
	RefusedNotAllowed    RefusalCode = "not_allowed"
	RefusedDenied        RefusalCode = "denied"
	RefusedPremiumRate   RefusalCode = "premium_rate"
	RefusedRateNumber    RefusalCode = "rate_number"
	RefusedRateCaller    RefusalCode = "rate_caller"
	RefusedOutsideHours  RefusalCode = "outside_hours"
	RefusedPastSlot      RefusalCode = "past_slot"
)

// Refusal is a callback request that was refused: a decision, not a failure. The center
// turns it into CallbackResult{Accepted: false, Reason: r.Reason}.
type Refusal struct {
	Code   RefusalCode
	Reason string // for the caller's flow, the log and the API, e.g. "number +44... is outside the allowed prefixes +86"
}

func (r *Refusal) Error() string { return "callback refused: " + r.Reason }

func refuse(code RefusalCode, format string, a ...any) *Refusal {
	return &Refusal{Code: code, Reason: fmt.Sprintf(format, a...)}
}
