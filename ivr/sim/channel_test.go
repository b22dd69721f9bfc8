package sim

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/call"
)

func TestScriptedCaller(t *testing.T) {
	clock := NewClock(DefaultAt)
	ch := NewChannel("c1", "+86", "4008", clock, []string{"21", "timeout", "1234#9"})
	ctx := context.Background()
	menu := call.DigitOptions{Max: 1, FirstTimeout: 5 * time.Second}
	if d, err := ch.ReadDigits(ctx, menu); d != "2" || err != nil {
		t.Fatalf("first read %q %v", d, err)
	}
	// "1" was typed ahead: a barge-in prompt returns it at once
	if d, _ := ch.Play(ctx, []call.Prompt{{Text: "menu"}}, call.PlayOptions{Interruptible: true}); d != "1" {
		t.Fatalf("typed-ahead digit not returned by barge-in: %q", d)
	}
	if _, err := ch.ReadDigits(ctx, menu); !errors.Is(err, call.ErrTimeout) || !clock.Now().Equal(DefaultAt.Add(5*time.Second)) {
		t.Fatalf("timeout token: %v, clock %v", err, clock.Now())
	}
	if d, err := ch.ReadDigits(ctx, call.DigitOptions{Terminator: "#", FirstTimeout: time.Second}); d != "1234" || err != nil {
		t.Fatalf("terminated entry %q %v", d, err)
	}
	ch.FlushDigits() // the 9 after # is dropped
	if _, err := ch.ReadDigits(ctx, menu); !errors.Is(err, call.ErrHangup) || ch.Context().Err() == nil {
		t.Fatalf("end of script must hang up: %v", err)
	}
	if _, err := ch.Play(ctx, nil, call.PlayOptions{}); !errors.Is(err, call.ErrHangup) {
		t.Fatalf("play after hangup: %v", err)
	}
}

func TestParseAt(t *testing.T) {
	for in, want := range map[string]string{
		"":                          "2026-11-24T10:00:00+08:00",
		"2026-11-29T21:00+08:00":    "2026-11-29T21:00:00+08:00",
		"2026-11-29T13:00:00Z":      "2026-11-29T13:00:00Z",
		"2026-11-29T21:00:30+08:00": "2026-11-29T21:00:30+08:00",
	} {
		got, err := ParseAt(in)
		if err != nil || got.Format(time.RFC3339) != want {
			t.Errorf("ParseAt(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	if _, err := ParseAt("2026-11-29 21:00"); err == nil {
		t.Error("a time without its offset was accepted")
	}
}
