package sip

import (
	"time"

	"github.com/hotline-cc/hotline/call"
)

// What a leg's far end asks during the call (a transfer, hold) reaches the call path through
// Requests, in order, one at a time. Nothing here blocks the SIP transaction layer: a request
// is queued and handed over by the leg's own goroutine, and one the call path does not take
// in time is answered as refused.

// takeWait is how long a request waits for the call path to take it from Requests before
// hotline answers it as refused itself (a transfer's final NOTIFY 503).
const takeWait = 2 * time.Second

// maxQueued bounds the requests waiting for the call path on one leg.
const maxQueued = 16

type queuedRequest struct {
	req      call.Request
	deadline time.Time
	untaken  func() // called when nobody took req by deadline; may be nil
}

var _ call.Requester = (*Channel)(nil)

// Requests delivers what the leg's far end asks during the call: a call.TransferRequest for
// each REFER hotline accepts and a call.HoldRequest when the phone puts the call on hold or
// takes it off. The first call registers the consumer (before it, REFERs are declined with
// 603); the channel is closed when the leg has ended.
func (c *Channel) Requests() <-chan call.Request {
	f := &c.far
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.out == nil {
		f.out = make(chan call.Request)
		f.wake = make(chan struct{}, 1)
		go c.pump(f.out)
	}
	return f.out
}

// consumed says whether the call path takes this leg's requests.
func (c *Channel) consumed() bool {
	c.far.mu.Lock()
	defer c.far.mu.Unlock()
	return c.far.out != nil
}

// deliver queues r for the call path; false when nobody consumes the leg's requests or too
// many wait already. untaken runs if the call path does not take r within the wait.
func (c *Channel) deliver(r call.Request, untaken func()) bool {
	f := &c.far
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.out == nil || len(f.queue) >= maxQueued {
		return false
	}
	f.queue = append(f.queue, queuedRequest{req: r, deadline: time.Now().Add(c.s.takeWait), untaken: untaken})
	select {
	case f.wake <- struct{}{}:
	default:
	}
	return true
}

// pump hands queued requests to the consumer until the leg ends, then closes out.
func (c *Channel) pump(out chan<- call.Request) {
	defer close(out)
	for {
		q, ok := c.nextRequest()
		if !ok {
			return
		}
		t := time.NewTimer(time.Until(q.deadline))
		select {
		case out <- q.req:
		case <-t.C:
			c.log.Warn("the call path did not take a request in time", "request", requestKind(q.req), "wait", c.s.takeWait)
			if q.untaken != nil {
				q.untaken()
			}
		case <-c.ctx.Done():
			t.Stop()
			return
		}
		t.Stop()
	}
}

func (c *Channel) nextRequest() (queuedRequest, bool) {
	f := &c.far
	for {
		f.mu.Lock()
		if len(f.queue) > 0 {
			q := f.queue[0]
			f.queue[0] = queuedRequest{}
			f.queue = f.queue[1:]
			f.mu.Unlock()
			return q, true
		}
		f.mu.Unlock()
		select {
		case <-f.wake:
		case <-c.ctx.Done():
			return queuedRequest{}, false
		}
	}
}

func requestKind(r call.Request) string {
	switch r.(type) {
	case call.TransferRequest:
		return "transfer"
	case call.HoldRequest:
		return "hold"
	}
	return "unknown"
}
