package ivr

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/call"
)

// The services a flow hands calls to. The center implements them over the ACD, the customer
// store and the recordings; the simulator and tests implement them with scripted answers.

// QueueService puts a caller in a queue and keeps them there until the queue is done with
// them: it plays music and position announcements, offers the callback, bridges the caller to
// an agent and returns when the agent hangs up (Exit answered), or when the caller leaves the
// queue any other way. Enqueue must return promptly once ctx ends (the caller hung up).
type QueueService interface {
	Enqueue(ctx context.Context, ch call.Channel, req QueueRequest) (QueueResult, error)
}

// QueueRequest is a caller joining a queue.
type QueueRequest struct {
	Queue    string
	Priority int // higher is answered first; 0 is normal
	Language string
	CallID   string
	Caller   call.Party
	Customer *Customer // nil when lookup found no one or did not run
	// Vars are the flow's variables with sensitive ones left out, plus vip (bool), for the
	// queue's priority rules and the agent's screen.
	Vars map[string]any
	// CallbackOffer: while waiting, the caller may press 1 to be called back, keeping their
	// place in line; Enqueue then books the callback and returns Exit callback.
	CallbackOffer bool
	// VoicemailOffer: while waiting, the caller may press 2 to leave a message instead;
	// Enqueue returns Exit voicemail and the flow records it.
	VoicemailOffer bool
}

// QueueExit is how a caller left a queue, after Asterisk's QUEUESTATUS plus callback.
type QueueExit string

const (
	QueueAnswered  QueueExit = "answered"  // an agent took the call; it has ended
	QueueTimeout   QueueExit = "timeout"   // max_wait passed
	QueueCallback  QueueExit = "callback"  // the caller took a callback that keeps their place
	QueueVoicemail QueueExit = "voicemail" // the caller chose to leave a message
	QueueFull      QueueExit = "full"      // the queue takes no more callers
	QueueNoAgents  QueueExit = "no_agents" // nobody is logged in to take it (JOINEMPTY/LEAVEEMPTY)
	QueueHangup    QueueExit = "hangup"    // the caller hung up while waiting (abandoned)
)

// QueueExits lists every exit of a queue step besides error.
var QueueExits = []QueueExit{QueueAnswered, QueueTimeout, QueueCallback, QueueVoicemail, QueueFull, QueueNoAgents, QueueHangup}

// QueueResult is how the stay in the queue ended.
type QueueResult struct {
	Exit     QueueExit
	Queue    string        // the queue it left (after any overflow)
	Joined   time.Time     // when it joined; zero when it never joined (no agents, full)
	Agent    string        // who answered
	Waited   time.Duration // time in the queue
	Talked   time.Duration // time bridged to the agent
	Callback *CallbackResult
	Position int // place in line on joining (1 = next)
}

// VoicemailService keeps a message. Save commits it (copying or moving the file) and returns
// the ticket number the caller is then told; the interpreter deletes Recording.Path after
// Save returns. Save is called even when the caller hung up while recording, with a context
// that outlives the call.
type VoicemailService interface {
	Save(ctx context.Context, req VoicemailRequest) (ticket string, err error)
}

// VoicemailRequest is a recorded message.
type VoicemailRequest struct {
	CallID    string
	Caller    call.Party
	Queue     string // the queue the message is for ("" = general)
	Language  string
	Customer  *Customer
	Recording call.Recording
	Vars      map[string]any // non-sensitive variables
}

// CallbackService books a callback. A refusal (rate limit, number not allowed ...) is a
// result with Accepted false and a Reason, not an error; an error means the service failed.
type CallbackService interface {
	Request(ctx context.Context, req CallbackRequest) (CallbackResult, error)
}

// CallbackRequest asks to call a number back for a queue.
type CallbackRequest struct {
	CallID   string
	Caller   call.Party
	Number   string // the number to call back
	Queue    string
	Priority int
	Language string
	Customer *Customer
	Vars     map[string]any
	// Slot is the time the caller chose (zero = as soon as an agent is free within opening
	// hours). The service refuses a slot outside the queue's opening hours, with a reason.
	Slot time.Time
}

// CallbackResult is the answer to a callback request.
type CallbackResult struct {
	Accepted bool
	ID       string
	Reason   string    // why not, when refused: shown to the flow as callback_reason
	Expected time.Time // when the call is expected, if known
}

// CustomerLookup finds a customer. Not finding one is (nil, nil).
type CustomerLookup interface {
	ByNumber(ctx context.Context, number string) (*Customer, error)
	ByAccount(ctx context.Context, account string) (*Customer, error)
}

// Customer is what a flow knows of the caller after a lookup (customer.* in expressions).
type Customer struct {
	ID       string
	Name     string
	Account  string
	VIP      bool
	Tier     string
	Language string // preferred language, if known
}

// SurveyService stores the answer to a post-call survey.
type SurveyService interface {
	SaveSurvey(ctx context.Context, s SurveyResponse) error
}

// SurveyResponse is one answer: 1 to 5 on the csat scale, 0 to 10 on the nps scale.
type SurveyResponse struct {
	CallID   string
	Survey   string // the survey step's name
	Caller   call.Party
	Queue    string // the queue of the conversation being rated, if any
	Agent    string
	Score    int
	Scale    string // ScaleCSAT ("" is csat) or ScaleNPS
	Language string
}

// StaticCustomers is a CustomerLookup over a fixed list: for tests, the simulator, and until
// the customer store lands. Numbers are compared after removing spaces and dashes.
type StaticCustomers struct {
	mu        sync.Mutex
	byNumber  map[string]*Customer
	byAccount map[string]*Customer
}

// NewStaticCustomers makes an empty directory.
func NewStaticCustomers() *StaticCustomers {
	return &StaticCustomers{byNumber: map[string]*Customer{}, byAccount: map[string]*Customer{}}
}

// Add files a customer under their account and any phone numbers.
func (s *StaticCustomers) Add(c Customer, numbers ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := c
	if c.Account != "" {
		s.byAccount[c.Account] = &cp
	}
	for _, n := range numbers {
		s.byNumber[normNumber(n)] = &cp
	}
}

func (s *StaticCustomers) ByNumber(_ context.Context, number string) (*Customer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.byNumber[normNumber(number)]; c != nil {
		cp := *c
		return &cp, nil
	}
	return nil, nil
}

func (s *StaticCustomers) ByAccount(_ context.Context, account string) (*Customer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.byAccount[account]; c != nil {
		cp := *c
		return &cp, nil
	}
	return nil, nil
}

func normNumber(n string) string {
	return strings.NewReplacer(" ", "", "-", "", "(", "", ")", "").Replace(n)
}
