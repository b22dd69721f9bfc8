package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/ivr"
)

// QueueOutcome is what the simulated ACD does with a caller.
type QueueOutcome struct {
	Exit     ivr.QueueExit
	Agent    string
	Waited   time.Duration
	Talked   time.Duration
	Position int
}

// WebhookReply is a scripted answer to webhook requests whose URL contains Match.
type WebhookReply struct {
	Match   string
	Status  int
	Body    any    // encoded as JSON
	Error   string // the request fails with this instead (connection refused ...)
	Timeout bool   // the request times out
}

// Services are scripted services with a memory of what the flow asked of them.
type Services struct {
	Clock     *Clock
	Queue     QueueOutcome            // for every queue not in Queues
	Queues    map[string]QueueOutcome // per queue
	Callback  ivr.CallbackResult      // answer to callback requests
	Ticket    string                  // ticket number voicemails get
	SaveError string                  // voicemail saves fail with this
	Customers *ivr.StaticCustomers
	Webhooks  []WebhookReply
	Transfer  string // answered (default), busy, no_answer, rejected

	mu         sync.Mutex
	Queued     []ivr.QueueRequest
	Callbacks  []ivr.CallbackRequest
	Voicemails []ivr.VoicemailRequest
	Surveys    []ivr.SurveyResponse
	Requests   []string // webhook requests, "METHOD URL"
	Transfers  []string
}

// NewServices answers queues with an agent after 45 s, accepts callbacks and files
// voicemails as ticket T-1001; nobody is a known customer.
func NewServices(clock *Clock) *Services {
	return &Services{Clock: clock, Queue: QueueOutcome{Exit: ivr.QueueAnswered, Agent: "1001", Waited: 45 * time.Second, Talked: 3 * time.Minute, Position: 2},
		Callback: ivr.CallbackResult{Accepted: true, ID: "CB-1"}, Ticket: "T-1001", Customers: ivr.NewStaticCustomers()}
}

// Runner is an ivr.Runner wired to these services, a text-only voice and the simulated clock.
func (s *Services) Runner(obs ivr.Observer, tempDir string) *ivr.Runner {
	return &ivr.Runner{Voice: TextVoice{}, Queues: s, Voicemail: s, Callbacks: s, Customers: s.Customers,
		Surveys: s, Dialer: s, HTTP: &http.Client{Transport: s}, Clock: s.Clock.Now, Observer: obs, TempDir: tempDir,
		Log: discardLogger}
}

func (s *Services) Enqueue(ctx context.Context, ch call.Channel, req ivr.QueueRequest) (ivr.QueueResult, error) {
	s.mu.Lock()
	s.Queued = append(s.Queued, req)
	out, ok := s.Queues[req.Queue]
	if !ok {
		out = s.Queue
	}
	s.mu.Unlock()
	if out.Exit == "" {
		out.Exit = ivr.QueueAnswered
	}
	if out.Exit == ivr.QueueAnswered && out.Agent == "" {
		out.Agent = "1001"
	}
	s.Clock.Advance(out.Waited + out.Talked)
	res := ivr.QueueResult{Exit: out.Exit, Agent: out.Agent, Waited: out.Waited, Talked: out.Talked, Position: out.Position}
	if out.Exit == ivr.QueueCallback {
		res.Callback = &ivr.CallbackResult{Accepted: true, ID: "CB-Q1"}
	}
	if out.Exit == ivr.QueueHangup {
		if c, ok := ch.(*Channel); ok {
			c.act(Action{Kind: "hangup"})
		}
		ch.Hangup(call.CauseNormal)
	}
	return res, nil
}

func (s *Services) Save(ctx context.Context, req ivr.VoicemailRequest) (string, error) {
	if _, err := os.Stat(req.Recording.Path); err != nil {
		return "", fmt.Errorf("sim voicemail: the recording is not there: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.SaveError != "" {
		return "", errors.New(s.SaveError)
	}
	s.Voicemails = append(s.Voicemails, req)
	return s.Ticket, nil
}

func (s *Services) Request(ctx context.Context, req ivr.CallbackRequest) (ivr.CallbackResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Callbacks = append(s.Callbacks, req)
	return s.Callback, nil
}

func (s *Services) SaveSurvey(ctx context.Context, r ivr.SurveyResponse) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Surveys = append(s.Surveys, r)
	return nil
}

// Originate simulates a transfer target answering (or not, per Transfer).
func (s *Services) Originate(ctx context.Context, to call.Target, opts call.OriginateOptions) (call.Channel, error) {
	s.mu.Lock()
	s.Transfers = append(s.Transfers, to.String())
	outcome := s.Transfer
	s.mu.Unlock()
	fail := func(err error, cause call.Cause) error { return &call.DialError{Target: to, Cause: cause, Err: err} }
	switch outcome {
	case "busy":
		return nil, fail(call.ErrBusy, call.CauseBusy)
	case "no_answer":
		s.Clock.Advance(opts.RingTimeout)
		return nil, fail(call.ErrNoAnswer, call.CauseNoAnswer)
	case "rejected":
		return nil, fail(call.ErrRejected, call.CauseRejected)
	}
	s.Clock.Advance(2 * time.Minute)
	return NewChannel("transfer-"+to.String(), "", to.String(), s.Clock, nil), nil
}

// RoundTrip answers webhook requests from the scripted replies.
func (s *Services) RoundTrip(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.Requests = append(s.Requests, req.Method+" "+req.URL.String())
	var reply *WebhookReply
	for i := range s.Webhooks {
		if strings.Contains(req.URL.String(), s.Webhooks[i].Match) {
			reply = &s.Webhooks[i]
			break
		}
	}
	s.mu.Unlock()
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	if reply == nil {
		return nil, fmt.Errorf("no scripted reply for %s (add one under webhooks:)", req.URL.Host)
	}
	if reply.Timeout {
		return nil, context.DeadlineExceeded
	}
	if reply.Error != "" {
		return nil, errors.New(reply.Error)
	}
	status := reply.Status
	if status == 0 {
		status = 200
	}
	body := "null"
	if reply.Body != nil {
		b, err := jsonMarshal(reply.Body)
		if err != nil {
			return nil, err
		}
		body = string(b)
	}
	return &http.Response{StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)),
		Request: req, ProtoMajor: 1, ProtoMinor: 1}, nil
}

// TextVoice "renders" prompts as their text, so the simulator needs no espeak-ng.
// A say prompt's File is "say:LANG" so printers can show the language.
type TextVoice struct{}

func (TextVoice) Prompt(name string) (call.Prompt, error) {
	return call.Prompt{File: "play:" + name, Text: "[" + name + "]"}, nil
}
func (TextVoice) Say(ctx context.Context, lang, text string) (call.Prompt, error) {
	return call.Prompt{File: "say:" + lang, Text: text}, nil
}
func (TextVoice) SayUncached(ctx context.Context, lang, text string) (call.Prompt, func(), error) {
	return call.Prompt{File: "say:" + lang}, func() {}, nil
}
