package multinode

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/helpdesk"
	"github.com/hotline-cc/hotline/internal/sipptest"
	"github.com/hotline-cc/hotline/internal/testenv"
)

// timeline is a customer's timeline as kinds: contact:<outcome>, callback:<status>, ticket.
func (s *site) timeline(number string) string {
	s.t.Helper()
	ctx := context.Background()
	st := s.store("")
	cust, err := st.ByNumber(ctx, number)
	if err != nil || cust == nil {
		return ""
	}
	entries, err := st.Timeline(ctx, cust.ID)
	if err != nil {
		s.t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		switch {
		case e.Contact != nil:
			out = append(out, "contact:"+string(e.Contact.Outcome))
		case e.Callback != nil:
			out = append(out, "callback:"+string(e.Callback.Status))
		case e.Ticket != nil:
			out = append(out, "ticket")
		}
	}
	return strings.Join(out, " ")
}

// Issue 17, items 3 and 5: a callback asked for on one node of three is dialed once: the
// agent's phone rings once, the customer is called once, the timeline shows one answered
// attempt, though every node's callback dialer saw it due.
func TestCallbackDialedOnceBySite(t *testing.T) {
	customer := sipptest.Start(t, sipptest.Options{Scenario: "uas_answer_bye.xml", Calls: 5, Pause: 2 * time.Second, Timeout: 90 * time.Second})
	s := newSite(t, siteOptions{nodes: 3, agents: 1, flow: readFlow(t, "records.yaml"),
		queue: "{name: support, ring_timeout: 3s, wrap_up: 1s, announce_every: 0s, callback_after: 1s, max_wait: 2m}",
		sip:   fmt.Sprintf("trunk: \"127.0.0.1:%d\"", customer.Port),
		extra: "callbacks: {allowed_prefixes: [\"+86\"]}\n"})
	s.start()
	// A number of its own per run: the callback rate limits (3 an hour to a number) live in
	// the shared Redis and outlast the run.
	number := fmt.Sprintf("+86138%08d", time.Now().UnixNano()%100000000)
	s.call(s.nodes[0], "POST", "/api/v1/agents/1001/actions", map[string]string{"action": "login"}, nil)
	s.call(s.nodes[0], "POST", "/api/v1/agents/1001/actions", map[string]string{"action": "pause", "reason": "meeting"}, nil)
	sipptest.Start(t, sipptest.Options{Scenario: "uac_press1.xml", Target: s.nodes[1].sipAddr, Service: "hotline",
		Pause: 2500 * time.Millisecond, Keys: map[string]string{"caller": number}}).MustSucceed(t)
	if got := s.timeline(number); got != "contact:callback_requested callback:pending" {
		t.Fatalf("timeline after pressing 1: %q", got)
	}

	agent := sipptest.Start(t, sipptest.Options{Scenario: "uas", Calls: 5, Timeout: 90 * time.Second})
	s.register("1001", agent.Port)
	s.call(s.nodes[2], "POST", "/api/v1/agents/1001/actions", map[string]string{"action": "unpause"}, nil)
	took := eventually(t, 20*time.Second, "the callback answered", func() bool {
		return strings.Contains(s.timeline(number), "contact:callback_answered")
	})
	time.Sleep(3 * time.Second) // would another node dial it too?
	if got := s.timeline(number); got != "contact:callback_requested callback:completed contact:callback_answered" {
		t.Errorf("timeline = %q, want the queued contact, the callback, one answered attempt", got)
	}
	if n := len(callIDs(customer.Messages())); n != 1 {
		t.Errorf("the customer was called %d times, want once", n)
	}
	if n := len(callIDs(agent.Messages())); n != 1 {
		t.Errorf("the agent's phone was called %d times, want once", n)
	}
	t.Logf("callback asked on %s, agent unpaused on %s: answered %v later; customer called once, agent once", s.nodes[1].name, s.nodes[2].name, took.Round(10*time.Millisecond))
}

// Issue 17, item 4: a voicemail acknowledged on a node (the caller was told its ticket number)
// whose webhook the helpdesk has refused so far; the node is killed with SIGKILL. The ticket and
// its recording (recordings.dir is shared by the site's nodes) are there, and another node
// delivers the webhook, once.
func TestVoicemailWebhookSurvivesItsNode(t *testing.T) {
	testenv.Tool(t, "espeak-ng")
	const secret = "site-secret"
	desk := helpdesk.New(t, secret)
	shared := t.TempDir()
	s := newSite(t, siteOptions{nodes: 3, agents: 1, flow: readFlow(t, "records.yaml"),
		extra: fmt.Sprintf("webhooks: {url: %q, secret: %q, timeout: 2s}\nrecordings: {dir: %q}\n", desk.URL, secret, shared)})
	s.start()
	victim := s.nodes[1]
	caller := sipptest.Start(t, sipptest.Options{Scenario: "uac_voicemail.xml", Target: victim.sipAddr, Service: "message",
		Pause: 4 * time.Second, Keys: map[string]string{"caller": "+8613500135111"}})
	victim.waitFor(t, "voicemail saved", 30*time.Second)
	m := regexp.MustCompile(`msg="voicemail saved".*ticket=(T-\d+)`).FindStringSubmatch(victim.out.String())
	if m == nil {
		t.Fatalf("no ticket in the log")
	}
	ticket := m[1]
	victim.waitFor(t, "webhook delivery failed", 20*time.Second)
	caller.Wait()
	victim.kill(t)
	desk.Accept()

	took := eventually(t, 60*time.Second, "the ticket's webhook delivered by another node", func() bool {
		return strings.Contains(desk.Delivered(), ticket)
	})
	time.Sleep(2 * time.Second)
	n := strings.Count(desk.Delivered(), `"`+ticket+`"`)
	if n != 1 {
		t.Errorf("the ticket's webhook was delivered %d times, want once", n)
	}
	ctx := context.Background()
	st := s.store(shared)
	tk, err := st.Ticket(ctx, ticket)
	if err != nil {
		t.Fatalf("ticket %s lost: %v", ticket, err)
	}
	if tk.Recording == nil || tk.Recording.Size < 8000 {
		t.Fatalf("ticket %s lost its recording: %+v", ticket, tk.Recording)
	}
	if err := st.Recordings().Verify(tk.Recording.ID, tk.Recording.SHA256); err != nil {
		t.Errorf("recording damaged: %v", err)
	}
	t.Logf("voicemail %s acknowledged on %s, node killed: webhook delivered once by another node %v after the kill; recording intact (%d bytes)",
		ticket, victim.name, took.Round(100*time.Millisecond), tk.Recording.Size)
}
