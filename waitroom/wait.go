package waitroom

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/conversation"
	"github.com/hotline-cc/hotline/ivr"
	"github.com/hotline-cc/hotline/journey"
)

// Enqueue implements ivr.QueueService on the goroutine that owns the caller: the caller
// waits with music and announcements until an agent's phone answers, then talks to them
// until either hangs up; or takes a callback, leaves for voicemail, times out.
func (r *Room) Enqueue(ctx context.Context, ch call.Channel, req ivr.QueueRequest) (ivr.QueueResult, error) {
	res := ivr.QueueResult{Queue: req.Queue}
	st, ok := r.d.QueueStats(req.Queue)
	if !ok {
		return ivr.QueueResult{Exit: ivr.QueueNoAgents}, fmt.Errorf("queue %q: %w", req.Queue, acd.ErrUnknownQueue)
	}
	if a := st.Agents; a.Available+a.Reserved+a.OnCall+a.WrapUp+a.Paused == 0 && !req.CallbackOffer {
		return ivr.QueueResult{Exit: ivr.QueueNoAgents}, nil // nobody logged in and no callback to offer
	}
	j := r.cfg.Calls.Get(ch.ID())
	if j == nil {
		return ivr.QueueResult{Exit: ivr.QueueNoAgents}, errors.New("waitroom: the call has no journey")
	}
	w := journey.NewWait()
	defer close(w.Done)
	id := ch.ID()
	j.SetWaiting(w)
	defer j.SetWaiting(nil)
	joined := time.Now()
	customer := ""
	if req.Customer != nil {
		customer = req.Customer.ID
	}
	prio := r.cfg.Priority(req.Queue, req.Priority, req.Vars)
	acts, err := r.d.Enqueue(acd.Call{ID: id, Queue: req.Queue, Priority: prio, Kind: acd.KindCaller, CustomerID: customer})
	if err != nil {
		r.Apply(acts)
		return ivr.QueueResult{Exit: ivr.QueueFull}, err
	}
	res.Joined = joined
	if pos, _, ok := r.d.Position(id); ok {
		res.Position = pos
	}
	// Queued before the distributor's actions are carried out: an agent rung at once shows
	// as ringing, not queued again.
	j.SetState(call.StateQueued, req.Queue, "")
	defer j.SetState(call.StateIVR, "", "")
	r.Apply(acts)
	leave := func(exit ivr.QueueExit) (ivr.QueueResult, error) {
		res.Exit, res.Waited, res.Queue = exit, time.Since(joined), req.Queue
		return res, nil
	}

	moh, _ := r.cfg.Voice.Prompt(r.musicOnHold(req.Queue))
	callbackOffered := false
	var say []call.Prompt // an announcement to play before the music resumes
	// The recording consent plays whole before any agent is connected: an agent who
	// answers meanwhile waits for its end (their leg is taken once it has played).
	consent := r.consent(ctx, req.Queue, req.Language)
	if consent != nil {
		j.Note("recording consent announced")
		say = consent
	}
	for {
		// One playback at a time: an announcement, else music. Any of them stops the moment an
		// agent answers, an event arrives, or the caller presses a key.
		pctx, stopPlaying := context.WithCancel(ctx)
		type played struct {
			digit string
			err   error
		}
		done := make(chan played, 1)
		play, opts := []call.Prompt{moh}, call.PlayOptions{Interruptible: true, Loop: true}
		connect, events := w.Connect, w.Events
		if consent != nil {
			play, opts = consent, call.PlayOptions{}
			connect, events, consent, say = nil, nil, nil, nil
		} else if say != nil {
			play, opts = say, call.PlayOptions{Interruptible: true}
			say = nil
		}
		go func() {
			d, err := ch.Play(pctx, play, opts)
			done <- played{d, err}
		}()
		stop := func() string { stopPlaying(); return (<-done).digit }

		var got journey.Answer
		var ev acd.Action
		var pressed string
		select {
		case <-ctx.Done():
			stop()
			acts, _ := r.d.Abandon(id)
			r.Apply(acts)
			return leave(ivr.QueueHangup)
		case got = <-connect:
			stop()
		case ev = <-events:
			pressed = stop()
		case p := <-done:
			stopPlaying()
			pressed = p.digit
		}
		if got.Leg == nil { // an agent may have answered while we were busy
			select {
			case got = <-w.Connect:
			default:
			}
		}

		if got.Leg != nil {
			if res.Agent == "" { // the first answer: how long the caller waited
				res.Waited = time.Since(joined)
			}
			res.Agent, res.Queue = got.Agent, req.Queue
			out := r.talks.Talk(ctx, j, req.Queue, got)
			res.Agent, res.Talked = out.Agent, res.Talked+out.Talked
			if out.End == conversation.Requeued { // transferred to a queue: waiting again
				req.Queue = out.Queue
				j.SetState(call.StateQueued, req.Queue, "")
				continue
			}
			res.Exit = ivr.QueueAnswered
			return res, nil
		}
		switch ev := ev.(type) {
		case acd.Timeout:
			return leave(ivr.QueueTimeout)
		case acd.Announce:
			j.Note("announce position %d wait %v", ev.Position, ev.EstimatedWait.Round(time.Second))
			say = r.say(ctx, req.Language, r.cfg.Texts.Position(req.Language, ev.Position, ev.EstimatedWait))
		case acd.OfferCallback:
			if req.CallbackOffer || req.VoicemailOffer {
				callbackOffered = true
				j.Note("callback offered")
				say = r.say(ctx, req.Language, r.cfg.Texts.Text(req.Language, offerKey(req.CallbackOffer, req.VoicemailOffer)))
			}
		case acd.Overflowed:
			j.Note("overflow %s -> %s", ev.From, ev.To)
			req.Queue = ev.To
		}
		switch {
		case pressed == "1" && callbackOffered && req.CallbackOffer && r.cfg.Booker != nil:
			// Commit the callback first; only then does the caller's entry become it.
			cb, err := r.cfg.Booker.BookFromQueue(context.WithoutCancel(ctx), ch, req, joined)
			if err != nil || !cb.Accepted {
				r.log.Info("callback not booked", "call", id, "refused", cb.Reason, "error", err)
				j.Note("callback refused: %s", cb.Reason)
				say = r.say(ctx, req.Language, r.cfg.Texts.Text(req.Language, "queue_callback_refused"))
				continue
			}
			acts, err := r.d.ConvertToCallback(id)
			r.Apply(acts)
			if err != nil {
				r.log.Warn("callback conversion failed", "call", id, "error", err)
				continue
			}
			if r.cfg.Callbacks != nil {
				r.cfg.Callbacks.Converted(id, cb.ID)
			}
			j.Note("callback requested %s", cb.ID)
			res.Callback = &cb
			return leave(ivr.QueueCallback)
		case pressed == "2" && callbackOffered && req.VoicemailOffer:
			acts, _ := r.d.Abandon(id)
			r.Apply(acts)
			j.Note("left for voicemail")
			return leave(ivr.QueueVoicemail)
		}
	}
}

func (r *Room) musicOnHold(queue string) string {
	if name := r.cfg.MusicOnHold[queue]; name != "" {
		return name
	}
	return "hold-music"
}

// consent is the queue's recording consent announcement, nil when it has none.
func (r *Room) consent(ctx context.Context, queue, lang string) []call.Prompt {
	if r.cfg.Consent == nil {
		return nil
	}
	name, ok := r.cfg.Consent(queue)
	if !ok {
		return nil
	}
	if name != "" {
		p, err := r.cfg.Voice.Prompt(name)
		if err == nil {
			return []call.Prompt{p}
		}
		r.log.Warn("recording consent prompt missing; saying the text", "queue", queue, "prompt", name, "error", err)
	}
	return r.say(ctx, lang, r.cfg.Texts.Text(lang, "recording_consent"))
}

// say turns announcement text into a prompt (nil if it cannot be rendered).
func (r *Room) say(ctx context.Context, lang, text string) []call.Prompt {
	p, err := r.cfg.Voice.Say(ctx, lang, text)
	if err != nil {
		r.log.Warn("cannot render announcement", "error", err)
		return nil
	}
	return []call.Prompt{p}
}

// offerKey is the text that offers the caller what the queue step allows.
func offerKey(callback, voicemail bool) string {
	switch {
	case callback && voicemail:
		return "queue_offer_callback_voicemail"
	case callback:
		return "queue_offer_callback"
	}
	return "queue_offer_voicemail"
}

// MissReason is why an agent's phone did not take an offer, from the driver's dial error.
func MissReason(err error) acd.MissReason {
	var de *call.DialError
	if errors.As(err, &de) {
		switch de.MissReason() {
		case "busy":
			return acd.Busy
		case "no_answer":
			return acd.NoAnswer
		case "rejected":
			return acd.Rejected
		}
	}
	return acd.Unreachable
}
