package sip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/internal/sipptest"
)

var testAgents = map[string]string{"1001": "s3cret-1001", "1002": "s3cret-1002"}

type testServer struct {
	*Server
	addr string
}

func startServer(t *testing.T, h call.Handler, opts ...Option) *testServer {
	t.Helper()
	return startServerWith(t, h, nil, opts...)
}

// startServerWith is startServer with edit applied to the test configuration.
func startServerWith(t *testing.T, h call.Handler, edit func(*Config), opts ...Option) *testServer {
	t.Helper()
	port := sipptest.FreeUDPPort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("HOTLINE_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	all := append([]Option{
		WithLogger(log), WithHandler(h),
		WithCredentials(func(a string) (string, bool) { p, ok := testAgents[a]; return p, ok }),
	}, opts...)
	cfg := Config{
		Addr: addr, Realm: "hotline", RTPTimeout: 10 * time.Second, RingTimeout: 4 * time.Second,
		MinExpires: 1, MaxExpires: 3600,
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := NewServer(cfg, all...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx) }()
	select {
	case <-s.Ready():
	case err := <-errc:
		t.Fatalf("serve: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &testServer{Server: s, addr: addr}
}

// tonePrompt writes a WAV of a 440 Hz tone to play as a prompt.
func tonePrompt(t *testing.T, d time.Duration) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "prompt.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := audio.NewWAVWriter(f)
	pcm := make([]int16, int(d.Seconds()*8000))
	for i := range pcm {
		pcm[i] = int16(6000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	if err := w.Write(pcm); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

// digitResult is what digitReader's handler got: four digits, the codec, or an error.
type digitResult struct {
	digits, codec string
	err           error
}

// digitReader is a handler that answers, plays prompt (if any) with barge-in and reads up
// to four digits in all, then reports them.
func digitReader(prompt string) (call.Handler, <-chan digitResult) {
	got := make(chan digitResult, 1)
	return func(ch call.Channel) {
		ctx := ch.Context()
		if err := ch.Answer(ctx); err != nil {
			got <- digitResult{err: err}
			return
		}
		var first string
		if prompt != "" {
			var err error
			if first, err = ch.Play(ctx, []call.Prompt{{File: prompt}}, call.PlayOptions{Interruptible: true}); err != nil {
				got <- digitResult{err: err}
				return
			}
		}
		rest, err := ch.ReadDigits(ctx, call.DigitOptions{Max: 4 - len(first), FirstTimeout: 5 * time.Second, InterTimeout: 3 * time.Second})
		got <- digitResult{first + rest, ch.(*Channel).neg.Codec.Name, err}
	}, got
}

// Acceptance 1 and 2: a real caller's RFC 2833 digits reach a handler that plays and reads.
func TestInboundCallReadsRFC2833Digits(t *testing.T) {
	for _, tc := range []struct{ scenario, codec string }{
		{"uac_dtmf_pcmu.xml", "PCMU"},
		{"uac_dtmf_pcma.xml", "PCMA"},
	} {
		t.Run(tc.codec, func(t *testing.T) {
			h, got := digitReader(tonePrompt(t, 300*time.Millisecond))
			srv := startServer(t, h)
			p := sipptest.Start(t, sipptest.Options{Scenario: tc.scenario, Target: srv.addr, Service: "hotline"})
			select {
			case r := <-got:
				if r.err != nil {
					t.Fatalf("handler: %v\n%s", r.err, p.Log())
				}
				if r.digits != "123#" {
					t.Errorf("digits = %q, want 123#", r.digits)
				}
				if r.codec != tc.codec {
					t.Errorf("negotiated %s, want %s", r.codec, tc.codec)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("handler never finished\n%s", p.Log())
			}
			p.MustSucceed(t) // sipp got our BYE and answered it
		})
	}
}

func TestG729OnlyOfferGets488(t *testing.T) {
	called := make(chan struct{}, 1)
	srv := startServer(t, func(ch call.Channel) { called <- struct{}{} })
	p := sipptest.Start(t, sipptest.Options{Scenario: "uac_g729.xml", Target: srv.addr, Service: "hotline"})
	p.MustSucceed(t)
	select {
	case <-called:
		t.Fatal("a call without a common codec reached the handler")
	default:
	}
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

// settle waits for background goroutines and sockets to go back to at most the baseline.
func settle(t *testing.T, srv *testServer, goroutines, fds int) (int, int) {
	var g, f int
	for i := 0; i < 100; i++ {
		g, f = runtime.NumGoroutine(), openFDs(t)
		if srv.ActiveCalls() == 0 && g <= goroutines && f <= fds {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return g, f
}

// Acceptance 3: CANCEL before answer gives 487 and frees everything; 200 calls leak nothing.
func TestCancelAndSequentialCallsLeaveNothingBehind(t *testing.T) {
	var mu sync.Mutex
	cancelled := 0
	srv := startServer(t, func(ch call.Channel) {
		if ch.Dialed() == "ring" {
			<-ch.Context().Done() // never answers; the caller cancels
			mu.Lock()
			cancelled++
			mu.Unlock()
			return
		}
		ctx := ch.Context()
		if ch.Answer(ctx) == nil {
			_, _ = ch.Play(ctx, []call.Prompt{{Silence: 60 * time.Millisecond}}, call.PlayOptions{})
		}
	})
	// Warm up: the first call starts the transport's long-lived goroutines.
	sipptest.Start(t, sipptest.Options{Scenario: "uac_answer.xml", Target: srv.addr, Service: "hotline"}).MustSucceed(t)
	baseG, baseF := settle(t, srv, 0, 0)
	baseG, baseF = runtime.NumGoroutine(), openFDs(t)

	p := sipptest.Start(t, sipptest.Options{Scenario: "uac_cancel.xml", Target: srv.addr, Service: "ring"})
	p.MustSucceed(t) // 200 for CANCEL and 487 for the INVITE
	g, f := settle(t, srv, baseG, baseF)
	mu.Lock()
	if cancelled != 1 {
		t.Errorf("handler saw %d cancelled calls, want 1", cancelled)
	}
	mu.Unlock()
	if g > baseG || f > baseF {
		t.Errorf("after CANCEL: goroutines %d (baseline %d), open files %d (baseline %d)", g, baseG, f, baseF)
	}

	p = sipptest.Start(t, sipptest.Options{Scenario: "uac_answer.xml", Target: srv.addr, Service: "hotline",
		Calls: 200, Rate: 100, Args: []string{"-l", "1"}, Timeout: 120 * time.Second})
	p.MustSucceed(t)
	g, f = settle(t, srv, baseG, baseF)
	if g > baseG || f > baseF {
		t.Errorf("after 200 calls: goroutines %d (baseline %d), open files %d (baseline %d)", g, baseG, f, baseF)
	}
	t.Logf("goroutines %d -> %d, open files %d -> %d", baseG, g, baseF, f)
}

// Acceptance 4: digest REGISTER, wrong password refused, bindings expire on time.
func TestRegisterWithDigest(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	changes := make(chan string, 10)
	srv := startServer(t, func(call.Channel) {}, WithClock(clock),
		WithRegistrationHook(func(a string, n int) { changes <- fmt.Sprintf("%s:%d", a, n) }))

	sipptest.Start(t, sipptest.Options{Scenario: "register.xml", Target: srv.addr,
		Auth: [2]string{"1001", "s3cret-1001"}, Inject: [][]string{{"1001", "s3cret-1001", "5990", "60"}}}).MustSucceed(t)
	if got := srv.Registrar().Contacts("1001"); len(got) != 1 || got[0].Contact.Port != 5990 {
		t.Fatalf("bindings after REGISTER = %+v", got)
	}
	if c := <-changes; c != "1001:1" {
		t.Errorf("hook got %s", c)
	}

	// A second phone of the same agent adds a second contact.
	sipptest.Start(t, sipptest.Options{Scenario: "register.xml", Target: srv.addr,
		Auth: [2]string{"1001", "s3cret-1001"}, Inject: [][]string{{"1001", "s3cret-1001", "5992", "120"}}}).MustSucceed(t)
	if got := srv.Registrar().Contacts("1001"); len(got) != 2 {
		t.Fatalf("want 2 contacts, got %d", len(got))
	}

	// Wrong password: 403, never 200 (the scenario fails on any other final response).
	sipptest.Start(t, sipptest.Options{Scenario: "register_wrong.xml", Target: srv.addr,
		Auth: [2]string{"1002", "guess"}, Inject: [][]string{{"1002", "guess", "5994", "60"}}}).MustSucceed(t)
	if got := srv.Registrar().Contacts("1002"); len(got) != 0 {
		t.Fatalf("wrong password registered: %+v", got)
	}

	advance(59 * time.Second)
	if got := srv.Registrar().Contacts("1001"); len(got) != 2 {
		t.Fatalf("at 59 s both bindings should hold, got %d", len(got))
	}
	advance(2 * time.Second)
	if got := srv.Registrar().Contacts("1001"); len(got) != 1 || got[0].Contact.Port != 5992 {
		t.Fatalf("at 61 s only the 120 s binding should hold, got %+v", got)
	}
	// Expires 0 unregisters (with a fresh nonce: the clock moved).
	sipptest.Start(t, sipptest.Options{Scenario: "register.xml", Target: srv.addr,
		Auth: [2]string{"1001", "s3cret-1001"}, Inject: [][]string{{"1001", "s3cret-1001", "5992", "0"}}}).MustSucceed(t)
	if got := srv.Registrar().Contacts("1001"); len(got) != 0 {
		t.Fatalf("after Expires 0: %+v", got)
	}
}

// Acceptance 5: a caller bridged to an agent's registered phone; RTP flows both ways
// through hotline's relay; the caller's BYE ends both legs.
func TestBridgeToRegisteredAgent(t *testing.T) {
	type stats struct {
		hungUp                 string
		callerID, agentID      string
		agentSent, agentRecv   uint64
		callerSent, callerRecv uint64
		err                    error
	}
	done := make(chan stats, 1)
	srv := startServer(t, func(ch call.Channel) {
		ctx := ch.Context()
		var st stats
		defer func() { done <- st }()
		if st.err = ch.Answer(ctx); st.err != nil {
			return
		}
		// The server through the channel, not srv: that is assigned on the test's goroutine.
		agent, err := ch.(*Channel).s.Originate(ctx, call.Target{Agent: "1001"}, call.OriginateOptions{CallerID: ch.Caller(), RingTimeout: 5 * time.Second})
		if err != nil {
			st.err = err
			return
		}
		defer agent.Hangup(call.CauseNormal)
		st.callerID, st.agentID = ch.ID(), agent.ID()
		st.hungUp, st.err = ch.Bridge(ctx, agent)
		a, c := agent.(*Channel).sess.Stats(), ch.(*Channel).sess.Stats()
		st.agentSent, st.agentRecv, st.callerSent, st.callerRecv = a.PacketsSent, a.PacketsReceived, c.PacketsSent, c.PacketsReceived
	})
	phone := sipptest.Start(t, sipptest.Options{Scenario: "uas", Args: []string{"-rtp_echo"}})
	sipptest.Start(t, sipptest.Options{Scenario: "register.xml", Target: srv.addr,
		Auth: [2]string{"1001", "s3cret-1001"}, Inject: [][]string{{"1001", "s3cret-1001", strconv.Itoa(phone.Port), "300"}}}).MustSucceed(t)

	caller := sipptest.Start(t, sipptest.Options{Scenario: "uac_voice.xml", Target: srv.addr, Service: "hotline",
		Pause: 3 * time.Second})
	var st stats
	select {
	case st = <-done:
	case <-time.After(25 * time.Second):
		t.Fatalf("bridge never ended\ncaller:\n%s\nagent:\n%s", caller.Log(), phone.Log())
	}
	if st.err != nil {
		t.Fatalf("handler: %v\ncaller:\n%s\nagent:\n%s", st.err, caller.Log(), phone.Log())
	}
	caller.MustSucceed(t)
	phone.MustSucceed(t) // the agent leg got its BYE when the caller hung up
	if st.hungUp != st.callerID {
		t.Errorf("bridge ended by %q, want the caller %q", st.hungUp, st.callerID)
	}
	// ~3 s of 30 ms packets from the caller: about 100 reach the agent and come back.
	if st.agentSent < 60 || st.agentRecv < 60 || st.callerSent < 60 || st.callerRecv < 60 {
		t.Errorf("RTP through the relay: to agent %d, from agent %d, to caller %d, from caller %d (want >= 60 each)",
			st.agentSent, st.agentRecv, st.callerSent, st.callerRecv)
	}
	t.Logf("relay: caller->agent %d/%d packets, agent->caller %d/%d", st.callerRecv, st.agentSent, st.agentRecv, st.callerSent)
}

// Acceptance 6: recording a caller who speaks gives a WAV with energy and the speech's length.
func TestRecordCallerSpeech(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vm.wav")
	got := make(chan call.Recording, 1)
	errc := make(chan error, 1)
	srv := startServer(t, func(ch call.Channel) {
		ctx := ch.Context()
		if err := ch.Answer(ctx); err != nil {
			errc <- err
			return
		}
		rec, err := ch.Record(context.Background(), path, call.RecordOptions{MaxDuration: 30 * time.Second})
		if err != nil {
			errc <- err
			return
		}
		got <- rec
	})
	p := sipptest.Start(t, sipptest.Options{Scenario: "uac_voice.xml", Target: srv.addr, Service: "hotline",
		Pause: 8 * time.Second})
	var rec call.Recording
	select {
	case rec = <-got:
	case err := <-errc:
		t.Fatalf("record: %v\n%s", err, p.Log())
	case <-time.After(25 * time.Second):
		t.Fatalf("recording never ended\n%s", p.Log())
	}
	p.MustSucceed(t)
	if rec.End != call.RecordEndHangup {
		t.Errorf("recording ended by %s, want hangup", rec.End)
	}
	pcm, err := audio.LoadWAVFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const speech = 7080 * time.Millisecond // g711a.pcap: 236 packets of 30 ms
	dur := time.Duration(len(pcm)) * time.Second / 8000
	if d := dur - speech; d < -100*time.Millisecond || d > 100*time.Millisecond {
		t.Errorf("WAV is %v long, the speech %v", dur, speech)
	}
	if rms := audio.RMS(pcm); rms < 500 {
		t.Errorf("RMS %.0f: the recording is (nearly) silent", rms)
	}
	t.Logf("recorded %v, RMS %.0f", dur, audio.RMS(pcm))
}

func TestReInviteHoldKeepsCallUp(t *testing.T) {
	ended := make(chan error, 1)
	srv := startServer(t, func(ch call.Channel) {
		ctx := ch.Context()
		if err := ch.Answer(ctx); err != nil {
			ended <- err
			return
		}
		<-ctx.Done() // stays up through hold and unhold until the caller's BYE
		ended <- nil
	})
	p := sipptest.Start(t, sipptest.Options{Scenario: "uac_reinvite.xml", Target: srv.addr, Service: "hotline"})
	p.MustSucceed(t)
	if err := <-ended; err != nil {
		t.Fatal(err)
	}
}

// UAC: busy, no answer and unreachable are told apart.
func TestOriginateOutcomes(t *testing.T) {
	srv := startServer(t, func(call.Channel) {})
	ctx := context.Background()

	busy := sipptest.Start(t, sipptest.Options{Scenario: "uas_busy.xml"})
	_, err := srv.Originate(ctx, call.Target{URI: fmt.Sprintf("sip:1001@127.0.0.1:%d", busy.Port)}, call.OriginateOptions{})
	if !errors.Is(err, call.ErrBusy) {
		t.Errorf("busy phone: err = %v, want ErrBusy", err)
	}
	busy.MustSucceed(t)

	ring := sipptest.Start(t, sipptest.Options{Scenario: "uas_noanswer.xml"})
	start := time.Now()
	_, err = srv.Originate(ctx, call.Target{URI: fmt.Sprintf("sip:1001@127.0.0.1:%d", ring.Port)}, call.OriginateOptions{RingTimeout: 1500 * time.Millisecond})
	if !errors.Is(err, call.ErrNoAnswer) {
		t.Errorf("ringing phone: err = %v, want ErrNoAnswer", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("ring timeout of 1.5 s took %v", el)
	}
	ring.MustSucceed(t) // it saw our CANCEL

	_, err = srv.Originate(ctx, call.Target{URI: fmt.Sprintf("sip:1001@127.0.0.1:%d", sipptest.FreeUDPPort(t))}, call.OriginateOptions{RingTimeout: 3 * time.Second})
	if !errors.Is(err, call.ErrUnreachable) {
		t.Errorf("nobody there: err = %v, want ErrUnreachable", err)
	}

	_, err = srv.Originate(ctx, call.Target{Agent: "1002"}, call.OriginateOptions{})
	var de *call.DialError
	if !errors.As(err, &de) || !errors.Is(err, call.ErrUnreachable) {
		t.Errorf("unregistered agent: err = %v, want an unreachable DialError", err)
	}
}

// A call whose media stops (a phone that crashed, a NAT that closed) is hung up after the
// configured RTP timeout: hotline sends BYE, and the handler's context ends.
func TestDeadMediaHangsUp(t *testing.T) {
	ended := make(chan time.Duration, 1)
	srv := startServer(t, func(ch call.Channel) {
		if err := ch.Answer(ch.Context()); err != nil {
			return
		}
		start := time.Now()
		<-ch.Context().Done()
		ended <- time.Since(start)
	}, func(s *Server) { s.cfg.RTPTimeout = 1500 * time.Millisecond })
	p := sipptest.Start(t, sipptest.Options{Scenario: "uac_answer.xml", Target: srv.addr, Service: "hotline"}) // sends no RTP, waits for BYE
	p.MustSucceed(t)
	select {
	case d := <-ended:
		if d < time.Second || d > 4*time.Second {
			t.Errorf("hung up after %v, want about the 1.5 s RTP timeout", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a call without RTP was not hung up")
	}
}
