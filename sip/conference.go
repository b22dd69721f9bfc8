package sip

import (
	"context"
	"fmt"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/sip/media"
)

var _ call.Conferencer = (*Channel)(nil)

// Conference mixes c with others, each of them a *Channel of this driver, until ctx ends or
// one of them hangs up: every party hears all the others and not itself (media.Conference),
// whatever G.711 law each negotiated. It returns the ID of the party that hung up, or ""
// when ctx ended first. A party's digits stay on its own channel (ReadDigits) and are not
// heard by the others. Meanwhile the parties are neither played to nor bridged; afterwards
// they can be bridged again, two of them back to a conversation.
func (c *Channel) Conference(ctx context.Context, others ...call.Channel) (string, error) {
	return c.mix(ctx, "conference", nil, others...)
}

// mix runs media.Mix over c and others (hears nil: everyone hears everyone else) until ctx
// ends or a party hangs up, and says who hung up ("" when ctx ended first).
func (c *Channel) mix(ctx context.Context, what string, hears media.Hearing, others ...call.Channel) (string, error) {
	chans := []party{{id: c.id, ctx: c.ctx, sess: c.sess}}
	for i, other := range others {
		o, ok := partyOf(other)
		if !ok {
			return "", fmt.Errorf("sip: %s: party %d is a %T, want a SIP channel or a media leg: %w", what, i+2, other, call.ErrNotBridgeable)
		}
		if o.sess == nil {
			return "", fmt.Errorf("sip: %s: party %d has no RTP session", what, i+2)
		}
		chans = append(chans, o)
	}
	for _, ch := range chans {
		if err := ch.hungUp(); err != nil {
			return ch.id, err
		}
	}
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	legs := make([]*media.Session, len(chans))
	ids := make([]string, len(chans))
	for i, ch := range chans {
		legs[i], ids[i] = ch.sess, ch.id
		stop := context.AfterFunc(ch.ctx, cancel) // a BYE ends the mix at once
		defer stop()
	}
	ended, err := media.Mix(mctx, hears, legs...)
	var who string // ctx may be one party's own context: the parties' state decides
	for _, ch := range chans {
		if ch.ctx.Err() != nil {
			who = ch.id
			break
		}
	}
	switch {
	case who != "":
	case ended >= 0:
		who = ids[ended] // its media ended; the channel hangs up after it
	case mctx.Err() == nil:
		return "", fmt.Errorf("sip: %s: %w", what, err) // refused: nothing was mixed
	}
	c.log.Info(what+" ended", "parties", ids, "hung_up", who)
	return who, nil
}
