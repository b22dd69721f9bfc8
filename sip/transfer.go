package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/hotline-cc/hotline/call"
)

// Transfers asked by phones: a REFER (RFC 3515) in a leg's dialog, whichever side began it,
// is accepted with 202 and handed to the call path as a call.TransferRequest, whose Report
// sends the phone NOTIFYs of message/sipfrag (RFC 3515 §2.4.4). hotline decides nothing
// about where a call may go; it only speaks the protocol.

const (
	// referBurst REFERs at most on one leg within referWindow; more are refused (503).
	referBurst  = 10
	referWindow = time.Minute
	// referExpires is the life of a REFER's implicit subscription (Subscription-State
	// expires=): a transfer with no final report by then ends with a NOTIFY reason=timeout.
	referExpires = 60 * time.Second
	// notifyWait is how long one NOTIFY waits for its response before the next is sent.
	notifyWait = 4 * time.Second
	// notifyDrain is how long hotline's hangup of a leg waits for its transfer's last NOTIFYs.
	notifyDrain = 2 * time.Second
	// maxProgress bounds the provisional reports queued behind a slow NOTIFY.
	maxProgress = 8
)

// farEnd is what a leg's far end has asked during the call and how it stands.
type farEnd struct {
	mu    sync.Mutex
	out   chan call.Request // nil until Requests is called
	wake  chan struct{}
	queue []queuedRequest
	// transfer is the accepted transfer that has had no final report yet.
	transfer *transfer
	// refers are when the last REFERs were admitted, a ring of referBurst.
	refers  [referBurst]time.Time
	nrefers int
	// senders are the transfers' NOTIFY goroutines at work; drained is closed when the last
	// ends, for a hangup waiting to send its BYE. After closing no sender starts, and after
	// abandon (the phone hung up) the senders stop.
	senders int
	drained chan struct{}
	closing bool
	abandon bool
}

// startSender counts a NOTIFY goroutine in; false once the leg is being released.
func (f *farEnd) startSender() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closing {
		return false
	}
	f.senders++
	return true
}

func (f *farEnd) senderDone() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.senders--; f.senders == 0 && f.drained != nil {
		close(f.drained)
		f.drained = nil
	}
}

func (f *farEnd) abandoned() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.abandon
}

// closeNotifies ends the leg's transfers' NOTIFYs: a hangup of hotline's (local) first lets
// those already queued go out, for at most wait, so that the phone hears how its transfer
// ended before the BYE; a hangup of the phone's drops them.
func (f *farEnd) closeNotifies(local bool, wait time.Duration) {
	f.mu.Lock()
	f.closing = true
	if !local {
		f.abandon = true
	}
	if !local || f.senders == 0 {
		f.mu.Unlock()
		return
	}
	if f.drained == nil {
		f.drained = make(chan struct{})
	}
	drained := f.drained
	f.mu.Unlock()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-drained:
	case <-t.C:
	}
}

// admitRefer counts a REFER at now, or says how long until one would be admitted.
func (f *farEnd) admitRefer(now time.Time) (retry time.Duration, ok bool) {
	i := f.nrefers % referBurst
	if f.nrefers >= referBurst {
		if oldest := f.refers[i]; now.Sub(oldest) < referWindow {
			return oldest.Add(referWindow).Sub(now), false
		}
	}
	f.refers[i] = now
	f.nrefers++
	return 0, true
}

func (s *Server) onRefer(req *sip.Request, tx sip.ServerTransaction) {
	if !s.refuseMalformed(tx, req) {
		s.handleRefer(req, tx)
	}
}

// handleRefer answers a REFER: 202 and a TransferRequest to the leg's call path, or a
// refusal through reject (481, 400, 491, 503, 603).
func (s *Server) handleRefer(req *sip.Request, tx responder) {
	c, err := s.dialogOf(req)
	if err != nil {
		s.reject(tx, req, err)
		return
	}
	t, err := c.acceptRefer(req)
	if err != nil {
		level := slog.LevelInfo
		if errors.Is(err, ErrTooManyRefers) {
			level = slog.LevelDebug // a storm is counted, not logged line by line
		}
		c.log.Log(context.Background(), level, "REFER refused", "error", err)
		s.reject(tx, req, err)
		return
	}
	res := sip.NewResponseFromRequest(req, 202, "Accepted", nil)
	res.AppendHeader(c.contact())
	if !t.sub {
		res.AppendHeader(sip.NewHeader("Refer-Sub", "false")) // RFC 4488 §4
	}
	countRequest(string(sip.REFER), 202)
	if err := tx.Respond(res); err != nil {
		c.log.Debug("REFER respond failed", "error", err)
	}
	c.log.Info("transfer requested", "target", t.req.TargetURI, "attended", t.req.Replaces != nil, "notify", t.sub)
	if !c.deliver(t.req, func() { t.end(call.TransferProgress{Status: 503, Reason: "Service Unavailable"}, "untaken") }) {
		t.end(call.TransferProgress{Status: 503, Reason: "Service Unavailable"}, "untaken")
	}
}

// acceptRefer decides whether the leg takes a REFER and, if so, makes its transfer, now
// the leg's pending one. A *StatusError says why not.
func (c *Channel) acceptRefer(req *sip.Request) (*transfer, error) {
	c.mu.Lock()
	ended := c.ended
	c.mu.Unlock()
	if ended {
		return nil, errNoDialog()
	}
	f := &c.far
	f.mu.Lock()
	defer f.mu.Unlock()
	if retry, ok := f.admitRefer(c.s.now()); !ok {
		return nil, errTooManyRefers(retry)
	}
	hs := append(req.GetHeaders("Refer-To"), req.GetHeaders("r")...)
	switch len(hs) {
	case 0:
		return nil, errBadReferTo(errNoReferTo)
	case 1:
	default:
		return nil, errBadReferTo(badReferTo("%d Refer-To headers (RFC 3515 §2.4.1: exactly one)", len(hs)))
	}
	rt, err := parseReferTo(hs[0].Value())
	if err != nil {
		return nil, errBadReferTo(err)
	}
	if f.out == nil {
		return nil, errNoConsumer()
	}
	if f.transfer != nil {
		return nil, errTransferPending()
	}
	t := &transfer{c: c, sub: !referSubFalse(req), target: notifyTarget(req)}
	if cseq := req.CSeq(); cseq != nil {
		t.id = cseq.SeqNo
	}
	t.req = call.TransferRequest{Target: rt.User, TargetURI: rt.URI, Replaces: rt.Replaces, Report: t.report}
	f.transfer = t
	t.expiry = time.AfterFunc(referExpires, func() { t.end(t.lastProgress(), "expired") })
	return t, nil
}

// referSubFalse: the phone asked for no NOTIFYs (RFC 4488 §4).
func referSubFalse(req *sip.Request) bool {
	h := req.GetHeader("Refer-Sub")
	return h != nil && strings.EqualFold(strings.TrimSpace(h.Value()), "false")
}

// notifyTarget is where the NOTIFYs go: the REFER's Contact, the phone's current remote
// target (REFER is a target refresh request, RFC 3515 §2.4.6); nil leaves it to the dialog.
func notifyTarget(req *sip.Request) *sip.Uri {
	if c := req.Contact(); c != nil && c.Address.Host != "" {
		u := c.Address.Clone()
		return u
	}
	return nil
}

// transfer is one accepted REFER: its implicit subscription and the NOTIFYs it owes.
type transfer struct {
	c      *Channel
	req    call.TransferRequest
	id     uint32   // the REFER's CSeq, for Event: refer;id= (RFC 3515 §2.4.6)
	sub    bool     // NOTIFYs are wanted (no Refer-Sub: false)
	target *sip.Uri // the NOTIFYs' Request-URI
	expiry *time.Timer

	mu      sync.Mutex
	done    bool // the final report was made (or the subscription ended)
	queue   []notification
	sending bool
	last    call.TransferProgress
}

type notification struct {
	p     call.TransferProgress
	state string // Subscription-State
}

// report is TransferRequest.Report: a NOTIFY of p, sent by the transfer's own goroutine.
func (t *transfer) report(p call.TransferProgress) {
	p = normalProgress(p)
	if p.Final() {
		t.end(p, statusClass(p.Status))
		return
	}
	t.notify(p, fmt.Sprintf("active;expires=%d", int(referExpires/time.Second)), false)
}

// end makes p the transfer's final report (with outcome as counted) and frees the leg for
// another transfer. Only the first end counts; later reports do nothing.
func (t *transfer) end(p call.TransferProgress, outcome string) {
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	t.expiry.Stop()
	if t.c.ctx.Err() != nil { // the leg has ended: nobody to tell, nothing to count
		t.notify(p, "", true)
		return
	}
	f := &t.c.far
	f.mu.Lock()
	if f.transfer == t {
		f.transfer = nil
	}
	f.mu.Unlock()
	state := "terminated;reason=noresource"
	if outcome == "expired" {
		state = "terminated;reason=timeout"
	}
	if t.notify(p, state, true) {
		mTransfers.WithLabelValues(outcome).Inc()
		t.c.log.Info("transfer ended", "target", t.req.TargetURI, "status", p.Status, "reason", p.Reason, "outcome", outcome)
	}
}

// notify queues a NOTIFY of p (final: the last one) and makes sure a goroutine sends it;
// false if the transfer had already ended.
func (t *transfer) notify(p call.TransferProgress, state string, final bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return false
	}
	t.done = final
	t.last = p
	if !t.sub || t.c.ctx.Err() != nil {
		return true // nothing to send: Refer-Sub: false, or the leg has ended
	}
	if !final && len(t.queue) >= maxProgress {
		return true // a slow phone misses a provisional report, never the final one
	}
	t.queue = append(t.queue, notification{p, state})
	if !t.sending && t.c.far.startSender() {
		t.sending = true
		go t.send()
	}
	return true
}

func (t *transfer) lastProgress() call.TransferProgress {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last.Status == 0 {
		return call.TransferProgress{Status: 100, Reason: "Trying"}
	}
	return t.last
}

// send sends the queued NOTIFYs one after the other, each waiting for its response, until
// none is left or the phone has hung up.
func (t *transfer) send() {
	defer t.c.far.senderDone()
	for {
		t.mu.Lock()
		if len(t.queue) == 0 || t.c.far.abandoned() {
			t.queue, t.sending = nil, false
			t.mu.Unlock()
			return
		}
		n := t.queue[0]
		t.queue = t.queue[1:]
		t.mu.Unlock()
		t.c.sendNotify(t, n)
	}
}

// sendNotify sends one NOTIFY of the transfer's subscription in the leg's dialog.
func (c *Channel) sendNotify(t *transfer, n notification) {
	var target sip.Uri
	switch {
	case t.target != nil:
		target = *t.target
	case c.server != nil && c.server.InviteRequest.Contact() != nil:
		target = c.server.InviteRequest.Contact().Address
	case c.client != nil && c.client.InviteResponse != nil && c.client.InviteResponse.Contact() != nil:
		target = c.client.InviteResponse.Contact().Address
	case c.client != nil:
		target = c.client.InviteRequest.Recipient
	}
	req := sip.NewRequest(sip.NOTIFY, *target.Clone())
	req.AppendHeader(sip.NewHeader("Event", fmt.Sprintf("refer;id=%d", t.id)))
	req.AppendHeader(sip.NewHeader("Subscription-State", n.state))
	req.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	req.SetBody([]byte(fmt.Sprintf("SIP/2.0 %d %s\r\n", n.p.Status, n.p.Reason)))
	ctx, cancel := context.WithTimeout(context.Background(), notifyWait) // outlives c.ctx: see closeNotifies
	defer cancel()
	res, err := c.doInDialog(ctx, req)
	switch {
	case err != nil:
		c.log.Debug("NOTIFY of a transfer failed", "status", n.p.Status, "error", err)
	case !res.IsSuccess():
		c.log.Debug("NOTIFY of a transfer refused", "status", n.p.Status, "response", res.StatusCode)
	}
}

// doInDialog sends req in the leg's dialog and waits for its final response. The CSeq is
// taken under sendMu, so that hotline's own requests in one dialog (NOTIFY, BYE) never
// share one.
func (c *Channel) doInDialog(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	if c.do != nil {
		return c.do(ctx, req)
	}
	var tx sip.ClientTransaction
	var err error
	c.sendMu.Lock()
	switch {
	case c.server != nil:
		tx, err = c.server.TransactionRequest(ctx, req)
	case c.client != nil:
		tx, err = c.client.TransactionRequest(ctx, req)
	default:
		err = ErrNoDialog
	}
	c.sendMu.Unlock()
	if err != nil {
		return nil, err
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			return nil, tx.Err()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// normalProgress is p as a sipfrag status line can carry it: a status of 100-699 (anything
// else is a 500) and a one-line reason phrase (the standard one when empty).
func normalProgress(p call.TransferProgress) call.TransferProgress {
	if p.Status < 100 || p.Status > 699 {
		p = call.TransferProgress{Status: 500, Reason: "Server Internal Error"}
	}
	p.Reason = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, strings.TrimSpace(p.Reason))
	if p.Reason == "" {
		p.Reason = reasonPhrase(p.Status)
	}
	if len(p.Reason) > 200 {
		p.Reason = p.Reason[:200]
	}
	return p
}

func reasonPhrase(status int) string {
	switch status {
	case 100:
		return "Trying"
	case 180:
		return "Ringing"
	case 183:
		return "Session Progress"
	case 200:
		return "OK"
	case 403:
		return "Forbidden"
	case 408:
		return "Request Timeout"
	case 480:
		return "Temporarily Unavailable"
	case 500:
		return "Server Internal Error"
	}
	return statusText(status)
}

func statusClass(status int) string { return fmt.Sprintf("%dxx", status/100) }

var _ call.DialogResolver = (*Server)(nil)

// Resolve names the live channel of the dialog r identifies, for an attended transfer: the
// Replaces a phone sends (in a REFER's Refer-To) names its own dialog with hotline as an
// INVITE with Replaces would reach hotline, so r.ToTag is hotline's tag in that dialog and
// r.FromTag the phone's (RFC 3891 §3: to-tag is the recipient's local tag, from-tag its
// remote one). A channel whose tags match the other way round is accepted too, for phones
// that build Replaces from their own point of view; the Call-ID must match in either case.
func (s *Server) Resolve(r call.Replaces) (string, bool) {
	if r.CallID == "" || r.ToTag == "" || r.FromTag == "" {
		return "", false
	}
	// sipgo names a dialog Call-ID, then the UAS's tag, then the UAC's: hotline's own tag
	// comes first for an inbound leg, second for an outbound one.
	asUAS := sip.DialogIDMake(r.CallID, r.ToTag, r.FromTag)
	asUAC := sip.DialogIDMake(r.CallID, r.FromTag, r.ToTag)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.dialogs[asUAS]; ok && c.server != nil {
		return c.id, true
	}
	if c, ok := s.dialogs[asUAC]; ok && c.client != nil {
		return c.id, true
	}
	for _, id := range []string{asUAS, asUAC} { // the tags the other way round
		if c, ok := s.dialogs[id]; ok {
			return c.id, true
		}
	}
	return "", false
}
