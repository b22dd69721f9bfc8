package sip

import (
	"context"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/sip/media"
)

// MediaLeg is a leg of another driver whose audio is a media.Session hotline terminates (the
// agent's phone in the browser, package webphone): SIP channels bridge, mix and monitor with
// it as with one of their own.
type MediaLeg interface {
	call.Channel
	MediaSession() *media.Session
}

// MediaSession is the channel's RTP session (nil before it has one).
func (c *Channel) MediaSession() *media.Session { return c.sess }

var _ MediaLeg = (*Channel)(nil)

// party is what bridging and mixing need of a leg, whichever driver made it.
type party struct {
	id   string
	ctx  context.Context
	sess *media.Session
}

func partyOf(ch call.Channel) (party, bool) {
	switch o := ch.(type) {
	case *Channel:
		if o == nil {
			return party{}, false
		}
		return party{id: o.id, ctx: o.ctx, sess: o.sess}, true
	case MediaLeg:
		return party{id: o.ID(), ctx: o.Context(), sess: o.MediaSession()}, true
	}
	return party{}, false
}

func (p party) hungUp() error {
	if p.ctx.Err() != nil {
		return call.ErrHangup
	}
	return nil
}
