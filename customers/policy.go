package customers

import (
	"context"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// CallbackPolicy is what the store checks before it books a callback, and how it retries.
type CallbackPolicy struct {
	Region      string        // for numbers written without +, e.g. CN
	Allowed     []string      // E.164 prefixes that may be called back; none = every country
	Denied      []string      // E.164 prefixes never called (premium rate ...), checked after Allowed
	PerNumber   Rate          // callbacks booked to one number
	PerCaller   Rate          // callback requests from one caller
	MaxAttempts int           // attempts before the callback fails and becomes a ticket
	Backoff     time.Duration // wait after the first failed attempt; doubles after each
}

// DefaultCallbackPolicy is the policy of a configuration file without a callbacks: section:
// every country, 3 callbacks to a number an hour, 10 requests from a caller a day, 3
// attempts, 10 minutes before the first retry.
func DefaultCallbackPolicy() CallbackPolicy {
	return CallbackPolicy{
		PerNumber: Rate{3, time.Hour}, PerCaller: Rate{10, 24 * time.Hour},
		MaxAttempts: 3, Backoff: 10 * time.Minute,
	}
}

// CheckNumber reads a callback number and says whether it may be called: a valid number, in
// E.164, inside the allowed prefixes, outside the denied ones, and not premium rate. It
// returns the E.164 number, or the refusal.
func (p CallbackPolicy) CheckNumber(raw string) (string, *Refusal) {
	n, err := NormalizeNumber(raw, p.Region)
	if err == ErrWithheld {
		return "", refuse(RefusedWithheld, "the number is withheld; a callback needs a number to call")
	}
	if err != nil {
		region := p.Region
		if region == "" {
			region = "none; write it with +"
		}
		return "", refuse(RefusedInvalidNumber, "%q is not a valid phone number (default region %s)", truncate(raw, 40), region)
	}
	if len(p.Allowed) > 0 {
		ok := false
		for _, a := range p.Allowed {
			ok = ok || strings.HasPrefix(n, a)
		}
		if !ok {
			return "", refuse(RefusedNotAllowed, "number %s is outside the allowed prefixes %s", n, strings.Join(p.Allowed, ", "))
		}
	}
	for _, d := range p.Denied {
		if strings.HasPrefix(n, d) {
			return "", refuse(RefusedDenied, "number %s is in the denied range %s", n, d)
		}
	}
	if num, err := phonenumbers.Parse(n, ""); err == nil && phonenumbers.GetNumberType(num) == phonenumbers.PREMIUM_RATE {
		return "", refuse(RefusedPremiumRate, "number %s is a premium-rate number", n)
	}
	return n, nil
}

// backoff is the wait after the given number of failed attempts (1, 2 ...).
func (p CallbackPolicy) backoff(failed int) time.Duration {
	d := p.Backoff
	for i := 1; i < failed && d < 24*time.Hour; i++ {
		d *= 2
	}
	return d
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// CheckOutbound says whether hotline may dial raw for an agent's transfer to an outside
// number: the callback number rules (valid, allowed prefixes, not denied, not premium rate)
// and the per-number rate limit, counted apart from callbacks. It returns the E.164 number,
// or an error that is a *Refusal saying why not.
func (s *Store) CheckOutbound(ctx context.Context, raw string) (string, error) {
	n, ref := s.policy.CheckNumber(raw)
	if ref != nil {
		return "", ref
	}
	ok, wait, err := s.limiter.Allow(ctx, "outbound:number:"+n, s.policy.PerNumber)
	if err != nil {
		s.log.Warn("rate limiter failed; allowing the outbound call", "err", err)
		return n, nil
	}
	if !ok {
		return "", refuse(RefusedRateNumber, "rate limit: %s to %s (next in %s)", s.policy.PerNumber.Of("outside calls"), n, roundUp(wait))
	}
	return n, nil
}
