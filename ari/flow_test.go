package ari_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/ari"
	"github.com/hotline-cc/hotline/ari/aritest"
	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/call"
)

// A flow run from another package with the exported API only, the way the center's tests
// run shipped flows over ARI: the caller presses 1 in the menu, the first agent is busy, the
// next one answers and is bridged, the agent hangs up, hotline hangs the caller up.
func TestFlowOnFakeAsterisk(t *testing.T) {
	fake := aritest.New(t, aritest.Options{Second: 20 * time.Millisecond})
	fake.SetAgent("alice", aritest.Busy)
	fake.SetAgent("bob", aritest.Answer)
	client, err := ari.NewClient(ari.Config{URL: fake.URL(), Username: fake.Username(), Password: fake.Password(), App: fake.App()},
		ari.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	sounds := t.TempDir()
	menu := filepath.Join(t.TempDir(), "menu.wav") // a shipped prompt: outside the sounds dir
	writeSilentWAV(t, menu, 16000, time.Second)

	type outcome struct {
		digit, agent, hungUp string
		misses               []string
		err                  error
	}
	done := make(chan outcome, 1)
	var drv *ari.Driver
	drv, err = ari.NewDriver(client, ari.DriverConfig{SoundsDir: sounds}, func(ch call.Channel) {
		var o outcome
		defer func() { done <- o }()
		ctx := ch.Context()
		if o.err = ch.Answer(ctx); o.err != nil {
			return
		}
		if o.digit, o.err = ch.Play(ctx, []call.Prompt{{File: menu, Text: "press 1 for sales"}}, call.PlayOptions{Interruptible: true}); o.err != nil {
			return
		}
		for _, agent := range []string{"alice", "bob"} { // the ACD's part: next agent
			leg, err := drv.Originate(ctx, call.Target{Agent: agent}, call.OriginateOptions{CallerID: ch.Caller(), RingTimeout: 5 * time.Second})
			var de *call.DialError
			if errors.As(err, &de) {
				o.misses = append(o.misses, agent+":"+de.MissReason())
				continue
			}
			if err != nil {
				o.err = err
				return
			}
			o.agent = agent
			o.hungUp, o.err = ch.Bridge(ctx, leg)
			_ = leg.Hangup(call.CauseNormal)
			if o.hungUp == leg.ID() {
				o.hungUp = "agent"
			}
			return
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- drv.Run(ctx) }()
	defer func() { cancel(); <-ran }()
	if err := fake.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}

	caller, err := fake.Inbound("+4930123456", "1000")
	if err != nil {
		t.Fatal(err)
	}
	if err := fake.Wait(ctx, "the menu prompt", func() bool { return fake.Playing(caller.ID) != "" }); err != nil {
		t.Fatal(err)
	}
	if err := caller.DTMF("1"); err != nil {
		t.Fatal(err)
	}
	bridged := func() bool {
		for _, chans := range fake.Bridged() {
			return len(chans) == 2 && len(fake.Legs("bob")) == 1
		}
		return false
	}
	if err := fake.Wait(ctx, "bob bridged with the caller", bridged); err != nil {
		t.Fatal(err)
	}
	fake.Legs("bob")[0].Hangup()
	var o outcome
	select {
	case o = <-done:
	case <-ctx.Done():
		t.Fatal("the flow did not finish")
	}
	select {
	case <-caller.Done():
	case <-ctx.Done():
		t.Fatal("the caller was not hung up when the flow ended")
	}
	if o.err != nil || o.digit != "1" || o.agent != "bob" || o.hungUp != "agent" || strings.Join(o.misses, ",") != "alice:busy" {
		t.Errorf("flow outcome %+v: want digit 1, alice busy, bob bridged until the agent hung up", o)
	}
	plays := fake.Requested("POST", "/ari/channels/"+caller.ID+"/play")
	if len(plays) != 1 || !strings.HasPrefix(plays[0].Query.Get("media"), "sound:"+filepath.ToSlash(filepath.Join(sounds, ari.CacheDir))+"/") {
		t.Fatalf("plays %+v: want the menu placed in the sounds dir's cache, by absolute path", plays)
	}
	placed := strings.TrimPrefix(plays[0].Query.Get("media"), "sound:") + ".wav"
	if _, err := os.Stat(placed); err != nil {
		t.Errorf("the prompt Asterisk was told to play is not in the shared directory: %v", err)
	}
}

func writeSilentWAV(t *testing.T, path string, rate int, d time.Duration) {
	t.Helper()
	n := int(d.Seconds() * float64(rate))
	if err := os.WriteFile(path, audio.EncodeWAV(rate, 1, make([]int16, n)), 0o644); err != nil {
		t.Fatal(err)
	}
}
