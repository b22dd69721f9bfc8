package ivr_test

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/ivr"
	"github.com/hotline-cc/hotline/ivr/sim"
)

// personalVoice is the simulator's voice that also notes which texts went through SayFor.
type personalVoice struct {
	sim.TextVoice
	mu     sync.Mutex
	shared []string
	forC   []string // "customer: text"
	uncach []string
}

func (v *personalVoice) Say(ctx context.Context, lang, text string) (call.Prompt, error) {
	v.mu.Lock()
	v.shared = append(v.shared, text)
	v.mu.Unlock()
	return v.TextVoice.Say(ctx, lang, text)
}

func (v *personalVoice) SayUncached(ctx context.Context, lang, text string) (call.Prompt, func(), error) {
	v.mu.Lock()
	v.uncach = append(v.uncach, text)
	v.mu.Unlock()
	return v.TextVoice.SayUncached(ctx, lang, text)
}

func (v *personalVoice) SayFor(ctx context.Context, lang, text, customerID string) (call.Prompt, error) {
	v.mu.Lock()
	v.forC = append(v.forC, customerID+": "+text)
	v.mu.Unlock()
	return v.TextVoice.Say(ctx, lang, text)
}

var _ ivr.PersonalVoice = (*personalVoice)(nil)

// A greeting that speaks the customer's name is rendered for that customer (so erasing them
// removes it), never into the shared cache; one that reads the caller's number with no known
// customer is not cached at all; everything else is shared.
func TestSayNamingTheCustomerIsCachedUnderThem(t *testing.T) {
	f := compile(t, testCatalog(t), `
nodes:
  who:
    lookup: caller
    on: {found: hello, not_found: number}
  hello:
    say: Welcome back, ${customer.name}.
    next: bye
  number:
    say: You are calling from ${caller}.
    next: bye
  bye:
    say: Goodbye.
`)
	v := &personalVoice{}
	c := sim.NewCall(f, "+8613800138000", "4008", sim.DefaultAt, nil, io.Discard)
	c.Services.Customers.Add(ivr.Customer{ID: "cust-1", Name: "Zhuang Meiling"}, "+8613800138000")
	c.Runner.Voice = v
	c.Run(context.Background(), f)
	if strings.Join(v.forC, "|") != "cust-1: Welcome back, Zhuang Meiling." || strings.Join(v.shared, "|") != "Goodbye." {
		t.Errorf("for the customer %q, shared %q", v.forC, v.shared)
	}

	v = &personalVoice{}
	c = sim.NewCall(f, "+8613900000000", "4008", sim.DefaultAt, nil, io.Discard)
	c.Runner.Voice = v
	c.Run(context.Background(), f)
	if len(v.forC) != 0 || len(v.uncach) != 1 || strings.Join(v.shared, "|") != "Goodbye." {
		t.Errorf("unknown caller: for %q, uncached %q, shared %q", v.forC, v.uncach, v.shared)
	}
}
