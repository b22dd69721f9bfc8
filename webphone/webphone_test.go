package webphone

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/hotline-cc/hotline/call"
)

// browser is a pion PeerConnection standing in for the agent's page.
type browser struct {
	pc       *webrtc.PeerConnection
	received chan int
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{pc: pc, received: make(chan int, 1)}
	track, _ := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, "mic", "page")
	if _, err := pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		go func() {
			n := 0
			buf := make([]byte, 1500)
			for {
				if _, _, err := tr.Read(buf); err != nil {
					return
				}
				n++
				if n == 50 {
					b.received <- n
				}
			}
		}()
	})
	go func() { // the page's microphone: 20 ms PCMU frames
		seq, ts := uint16(1), uint32(0)
		pkt := make([]byte, 12+160)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for range tick.C {
			if pc.ConnectionState() == webrtc.PeerConnectionStateClosed {
				return
			}
			pkt[0], pkt[1] = 0x80, 0
			pkt[2], pkt[3] = byte(seq>>8), byte(seq)
			pkt[4], pkt[5], pkt[6], pkt[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
			for i := 12; i < len(pkt); i++ {
				pkt[i] = 0xff
			}
			_, _ = track.Write(pkt)
			seq++
			ts += 160
		}
	}()
	t.Cleanup(func() { pc.Close() })
	return b
}

// answer takes the server's offer and gives the page's answer, mangled if asked.
func (b *browser) answer(t *testing.T, offer string, mangle func(string) string) string {
	t.Helper()
	if err := b.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		t.Fatal(err)
	}
	ans, err := b.pc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	done := webrtc.GatheringCompletePromise(b.pc)
	if err := b.pc.SetLocalDescription(ans); err != nil {
		t.Fatal(err)
	}
	<-done
	sdp := b.pc.LocalDescription().SDP
	if mangle != nil {
		sdp = mangle(sdp)
	}
	return sdp
}

func newPhones(t *testing.T) *Phones {
	t.Helper()
	p, err := New(Config{RingTimeout: 3 * time.Second, ConnectTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type dialed struct {
	ch  call.Channel
	err error
}

func dial(p *Phones, ctx context.Context) chan dialed {
	out := make(chan dialed, 1)
	go func() {
		ch, err := p.Originate(ctx, call.Target{Agent: "1001"}, call.OriginateOptions{CallerID: call.Party{Number: "+8613800000001"}})
		out <- dialed{ch, err}
	}()
	return out
}

func nextEvent(t *testing.T, l *Line, kind string) Event {
	t.Helper()
	select {
	case ev := <-l.Events():
		if ev.Kind != kind {
			t.Fatalf("event %q, want %q", ev.Kind, kind)
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s event", kind)
	}
	return Event{}
}

// answerOffer answers offer from page b and accepts it, and returns the leg Originate (res)
// gave once the media connected.
func answerOffer(t *testing.T, l *Line, b *browser, offer Event, res chan dialed) *Leg {
	t.Helper()
	if err := l.Answer(offer.Call, b.answer(t, offer.SDP, nil)); err != nil {
		t.Fatal(err)
	}
	if err := l.Accept(offer.Call); err != nil {
		t.Fatal(err)
	}
	var d dialed
	select {
	case d = <-res:
	case <-time.After(5 * time.Second):
		t.Fatal("Originate did not return after the accept")
	}
	if d.err != nil {
		t.Fatal(d.err)
	}
	return d.ch.(*Leg)
}

func TestAnsweredCallCarriesAudioAndIsLostWithItsPage(t *testing.T) {
	p := newPhones(t)
	if _, err := p.Originate(context.Background(), call.Target{Agent: "1001"}, call.OriginateOptions{}); !errors.Is(err, call.ErrUnreachable) {
		t.Fatalf("dialing an agent with no page: %v, want unreachable", err)
	}
	l, _ := p.Register("1001")
	res := dial(p, context.Background())
	offer := nextEvent(t, l, "offer")
	if !strings.Contains(offer.SDP, "PCMU/8000") || strings.Contains(offer.SDP, "opus") || !strings.Contains(offer.SDP, "a=fingerprint:") {
		t.Errorf("the offer is not G.711 over DTLS-SRTP:\n%s", offer.SDP)
	}
	// A second call while this one rings: busy.
	if _, err := p.Originate(context.Background(), call.Target{Agent: "1001"}, call.OriginateOptions{}); !errors.Is(err, call.ErrBusy) {
		t.Errorf("a second offer to a ringing page: %v, want busy", err)
	}
	b := newBrowser(t)
	leg := answerOffer(t, l, b, offer, res)
	// Audio both ways: the server plays silence frames to the page, the page's frames arrive.
	go leg.MediaSession().Play(leg.Context(), make([]int16, 8000*3))
	select {
	case <-b.received:
	case <-time.After(5 * time.Second):
		t.Fatal("the page received no audio")
	}
	time.Sleep(time.Second)
	if st, _ := leg.MediaStats(); st.PacketsReceived < 30 {
		t.Errorf("hotline received %d packets from the page in a second, want ~50", st.PacketsReceived)
	}
	l.Close() // the tab closes
	select {
	case <-leg.Context().Done():
	case <-time.After(3 * time.Second):
		t.Fatal("the leg did not end when its page went away")
	}
	if !leg.Lost() {
		t.Error("a leg whose page went away is not Lost")
	}
	if p.Registered("1001") {
		t.Error("the agent is still registered after Close")
	}
}

// A page that hangs up closes its PeerConnection as it posts the hangup; the media close
// may reach hotline first. That is the agent hanging up, not a vanished phone: the caller
// must not be put back in line.
func TestHangupOvertakenByTheMediaCloseIsNotLost(t *testing.T) {
	p := newPhones(t)
	l, _ := p.Register("1001")
	res := dial(p, context.Background())
	offer := nextEvent(t, l, "offer")
	b := newBrowser(t)
	leg := answerOffer(t, l, b, offer, res)
	_ = b.pc.Close() // the page closes first...
	time.Sleep(300 * time.Millisecond)
	if err := l.Hangup(offer.Call); err != nil { // ...and its hangup arrives after
		t.Fatal(err)
	}
	select {
	case <-leg.Context().Done():
	case <-time.After(3 * time.Second):
		t.Fatal("the leg did not end on the hangup")
	}
	if leg.Lost() {
		t.Error("an agent who hung up in the page counts as a lost phone")
	}
}

func TestOfferMisses(t *testing.T) {
	p := newPhones(t)
	l, _ := p.Register("1001")

	// Nobody clicks: no answer after the ring timeout, and the page is told.
	res := dial(p, context.Background())
	offer := nextEvent(t, l, "offer")
	b := newBrowser(t)
	_ = l.Answer(offer.Call, b.answer(t, offer.SDP, nil))
	if d := <-res; !errors.Is(d.err, call.ErrNoAnswer) {
		t.Errorf("unanswered offer: %v, want no answer", d.err)
	}
	nextEvent(t, l, "cancel")

	// Broken ICE credentials: unreachable within the connect timeout.
	start := time.Now()
	res = dial(p, context.Background())
	offer = nextEvent(t, l, "offer")
	b = newBrowser(t)
	broken := b.answer(t, offer.SDP, func(s string) string {
		out := []string{}
		for _, line := range strings.Split(s, "\r\n") {
			if strings.HasPrefix(line, "a=ice-pwd:") {
				line = "a=ice-pwd:brokenbrokenbrokenbroken00"
			}
			out = append(out, line)
		}
		return strings.Join(out, "\r\n")
	})
	_ = l.Answer(offer.Call, broken)
	_ = l.Accept(offer.Call)
	if d := <-res; !errors.Is(d.err, call.ErrUnreachable) {
		t.Errorf("offer with broken ICE: %v, want unreachable", d.err)
	}
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("the ICE failure took %v, want within the 2 s connect timeout", took)
	}
	nextEvent(t, l, "cancel")

	// A garbage answer: refused with a reason, and the offer misses at once.
	res = dial(p, context.Background())
	offer = nextEvent(t, l, "offer")
	if err := l.Answer(offer.Call, "not sdp"); err == nil || !strings.Contains(err.Error(), "SDP") {
		t.Errorf("a garbage SDP answer: %v, want refused naming the SDP", err)
	}
	if d := <-res; !errors.Is(d.err, call.ErrUnreachable) {
		t.Errorf("offer answered with garbage: %v, want unreachable", d.err)
	}
	nextEvent(t, l, "cancel")

	// Declined, and withdrawn while ringing.
	res = dial(p, context.Background())
	offer = nextEvent(t, l, "offer")
	_ = l.Reject(offer.Call)
	if d := <-res; !errors.Is(d.err, call.ErrRejected) {
		t.Errorf("declined offer: %v, want rejected", d.err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	res = dial(p, ctx)
	nextEvent(t, l, "offer")
	cancel()
	if d := <-res; !errors.Is(d.err, context.Canceled) {
		t.Errorf("withdrawn offer: %v, want the context's error", d.err)
	}
	nextEvent(t, l, "cancel")
}
