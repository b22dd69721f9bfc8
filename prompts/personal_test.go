package prompts

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A greeting that speaks a customer's name is cached under that customer, not in the shared
// say cache, and ForgetCustomer (an erasure) removes it and nothing of anyone else.
func TestSayForIsForgottenWithTheCustomer(t *testing.T) {
	bin, _ := fakeEspeak(t)
	lib := New(Config{Espeak: bin, Voices: map[string]string{"en": "en-us"}}, t.TempDir())
	ctx := context.Background()
	p, err := lib.SayFor(ctx, "en", "Welcome back, Zhuang Meiling.", "0190aaaa-cust-1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := lib.SayFor(ctx, "en", "Welcome back, Zhuang Meiling.", "0190aaaa-cust-1")
	if err != nil || again.File != p.File {
		t.Fatalf("a second greeting rendered again: %s then %s (%v)", p.File, again.File, err)
	}
	if !strings.HasPrefix(p.File, filepath.Join(lib.CacheDir(), "customers")) {
		t.Errorf("personal prompt at %s, want under the customers cache", p.File)
	}
	other, err := lib.SayFor(ctx, "en", "Welcome back, Li Na.", "0190bbbb-cust-2")
	if err != nil {
		t.Fatal(err)
	}
	shared, err := lib.Say(ctx, "en", "Thank you for calling.")
	if err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Join(lib.CacheDir(), "say", "en-us")); len(ents) != 1 {
		t.Errorf("the shared cache holds %d files, want only the impersonal prompt", len(ents))
	}
	if err := lib.ForgetCustomer("0190aaaa-cust-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p.File); !os.IsNotExist(err) {
		t.Errorf("the erased customer's greeting survived: %v", err)
	}
	for _, f := range []string{other.File, shared.File} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s went with another customer's erasure: %v", f, err)
		}
	}
	// After forgetting, the same text renders again rather than naming a file that is gone.
	p2, err := lib.SayFor(ctx, "en", "Welcome back, Zhuang Meiling.", "0190aaaa-cust-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p2.File); err != nil {
		t.Errorf("re-rendered greeting missing: %v", err)
	}
}
