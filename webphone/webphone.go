// Package webphone is the agent's phone in the browser: the server side of a WebRTC call leg
// (github.com/pion/webrtc/v4), dialed like a SIP phone, so an ACD agent can take calls in the
// agent desktop with no softphone.
//
// A browser tab registers a Line for its agent while its signalling stream is open. Each
// call offered to the agent is one PeerConnection: DTLS-SRTP, ICE (host candidates, and the
// configured STUN/TURN servers), audio in PCMU or PCMA only. Every browser supports G.711 in
// WebRTC, so the audio goes from the caller's phone to the browser as it came: no codec on the
// server, no transcoding per packet, no extra delay. Opus would sound better on lossy networks
// but would need a codec and a transcoding step per packet for every call, for audio that
// started as 8 kHz G.711 anyway.
//
// Inside hotline the answered leg is an ordinary media.Session on a loopback UDP socket:
// pion's decrypted packets from the browser are written to that socket, and what the session
// sends is read from a second loopback socket and written to the browser's track (pion
// encrypts it). Bridging, hold music, recording, monitoring and DTMF in sip/media therefore
// work on a browser leg unchanged. A leg whose browser vanished (the tab closed, ICE failed)
// rather than hung up reports Lost, and the conversation puts the caller back in line.
package webphone

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/sip"
	"github.com/hotline-cc/hotline/sip/media"
)

// Config is how the browser phones work.
type Config struct {
	ICE            []webrtc.ICEServer // STUN/TURN for agents at home behind NAT
	RTPAddr        netip.Addr         // the loopback address of the internal RTP sockets (default 127.0.0.1)
	RingTimeout    time.Duration      // default ring time of an offer (default 30 s)
	ConnectTimeout time.Duration      // ICE+DTLS must connect within this (default 8 s)
	PublicIP       string             // the server's public IP for its host candidates (1:1 NAT)
	Log            *slog.Logger
	// OnRegistration is told when an agent's page becomes their phone and when it goes.
	OnRegistration func(agent string, online bool)
}

// Event is what the signalling layer forwards to the page.
type Event struct {
	Kind   string // offer, cancel, hangup
	Call   string // the phone call's ID
	SDP    string // the server's offer
	From   call.Party
	Reason string
}

// ErrNoCall is a line asked about a call it does not have.
var ErrNoCall = errors.New("webphone: no such call on this phone")

var (
	metricLines = promauto.NewGauge(prometheus.GaugeOpts{Name: "hotline_webphone_lines",
		Help: "Browser phones registered now (agent pages that are their agent's phone)."})
	metricOffers = promauto.NewCounterVec(prometheus.CounterOpts{Name: "hotline_webphone_offers_total",
		Help: "Calls offered to browser phones, by result: answered, no_answer, rejected, unreachable, busy, cancelled."}, []string{"result"})
	metricLost = promauto.NewCounter(prometheus.CounterOpts{Name: "hotline_webphone_lost_total",
		Help: "Browser phone calls lost because the page vanished (tab closed, network dropped) mid-call."})
)

// Phones is every agent's browser phone; it implements call.Dialer for agent targets.
type Phones struct {
	cfg Config
	api *webrtc.API
	log *slog.Logger

	mu    sync.Mutex
	lines map[string]*Line
}

// New makes the browser phones.
func New(cfg Config) (*Phones, error) {
	if !cfg.RTPAddr.IsValid() {
		cfg.RTPAddr = netip.MustParseAddr("127.0.0.1")
	}
	if cfg.RingTimeout <= 0 {
		cfg.RingTimeout = 30 * time.Second
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 8 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	m := &webrtc.MediaEngine{}
	for _, c := range []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1}, PayloadType: 0},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMA, ClockRate: 8000, Channels: 1}, PayloadType: 8},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/telephone-event", ClockRate: 8000, Channels: 1, SDPFmtpLine: "0-16"}, PayloadType: 101},
	} {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, fmt.Errorf("webphone: codec %s: %w", c.MimeType, err)
		}
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		return nil, fmt.Errorf("webphone: interceptors: %w", err)
	}
	se := webrtc.SettingEngine{}
	se.SetICETimeouts(3*time.Second, 6*time.Second, time.Second)
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	if cfg.PublicIP != "" {
		se.SetNAT1To1IPs([]string{cfg.PublicIP}, webrtc.ICECandidateTypeHost)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(reg))
	return &Phones{cfg: cfg, api: api, log: cfg.Log.With("component", "webphone"), lines: map[string]*Line{}}, nil
}

// Register makes a page the agent's phone until the line is closed; a second registration
// replaces the first (whose call, if any, is lost).
func (p *Phones) Register(agent string) (*Line, error) {
	if agent == "" {
		return nil, errors.New("webphone: no agent")
	}
	l := &Line{p: p, agent: agent, events: make(chan Event, 16), done: make(chan struct{})}
	p.mu.Lock()
	old := p.lines[agent]
	p.lines[agent] = l
	p.mu.Unlock()
	if old != nil {
		old.close(false)
	} else {
		metricLines.Inc()
		if p.cfg.OnRegistration != nil {
			p.cfg.OnRegistration(agent, true)
		}
	}
	p.log.Info("browser phone registered", "agent", agent)
	return l, nil
}

// Registered reports whether the agent's page is their phone now.
func (p *Phones) Registered(agent string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lines[agent] != nil
}

func (p *Phones) line(agent string) *Line {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lines[agent]
}

// Line is one page registered as its agent's phone.
type Line struct {
	p      *Phones
	agent  string
	events chan Event
	done   chan struct{}

	mu     sync.Mutex
	closed bool
	cur    *Leg // the offer or call on the line
}

// Events are the line's messages for the page; closed when the line is.
func (l *Line) Events() <-chan Event { return l.events }

func (l *Line) send(ev Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	select {
	case l.events <- ev:
	default:
		l.p.log.Warn("browser phone too slow to read its events; dropped one", "agent", l.agent, "kind", ev.Kind)
	}
}

// Close unregisters the phone; a call on it is lost.
func (l *Line) Close() { l.close(true) }

func (l *Line) close(unregister bool) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	close(l.done)
	close(l.events)
	cur := l.cur
	l.mu.Unlock()
	if cur != nil {
		cur.lose("the page's phone went away")
	}
	if !unregister {
		return
	}
	p := l.p
	p.mu.Lock()
	mine := p.lines[l.agent] == l
	if mine {
		delete(p.lines, l.agent)
	}
	p.mu.Unlock()
	if mine {
		metricLines.Dec()
		p.log.Info("browser phone unregistered", "agent", l.agent)
		if p.cfg.OnRegistration != nil {
			p.cfg.OnRegistration(l.agent, false)
		}
	}
}

// Call is the ID of the offer or call on the line.
func (l *Line) Call() (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur == nil {
		return "", false
	}
	return l.cur.id, true
}

func (l *Line) leg(id string) (*Leg, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur == nil || l.cur.id != id {
		return nil, ErrNoCall
	}
	return l.cur, nil
}

// Answer is the page's SDP answer to an offer.
func (l *Line) Answer(id, sdp string) error {
	g, err := l.leg(id)
	if err != nil {
		return err
	}
	if err := g.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		g.fail(fmt.Errorf("the page's SDP answer: %w", err))
		return fmt.Errorf("webphone: the SDP answer: %w", err)
	}
	return nil
}

// Accept is the agent's click on answer.
func (l *Line) Accept(id string) error {
	return l.signal(id, func(g *Leg) { g.once(&g.acceptOnce, g.accept) })
}

// Reject declines the offer.
func (l *Line) Reject(id string) error {
	return l.signal(id, func(g *Leg) { g.once(&g.rejectOnce, g.reject) })
}

// Hangup is the agent hanging up in the page.
func (l *Line) Hangup(id string) error {
	return l.signal(id, func(g *Leg) {
		if g.answered.Load() {
			g.end(false)
		} else {
			g.once(&g.rejectOnce, g.reject)
		}
	})
}

func (l *Line) signal(id string, f func(*Leg)) error {
	g, err := l.leg(id)
	if err != nil {
		return err
	}
	f(g)
	return nil
}

func (l *Line) release(g *Leg) {
	l.mu.Lock()
	if l.cur == g {
		l.cur = nil
	}
	l.mu.Unlock()
}

// Originate offers a call to the agent's browser and returns its leg once the agent answered
// and the media connected.
func (p *Phones) Originate(ctx context.Context, to call.Target, opts call.OriginateOptions) (call.Channel, error) {
	dialErr := func(err error, cause call.Cause) error { return &call.DialError{Target: to, Cause: cause, Err: err} }
	l := p.line(to.Agent)
	if to.Agent == "" || l == nil {
		metricOffers.WithLabelValues("unreachable").Inc()
		return nil, dialErr(call.ErrUnreachable, call.CauseNoResponse)
	}
	g, err := p.newLeg(l, to.Agent, opts)
	if err != nil {
		metricOffers.WithLabelValues("unreachable").Inc()
		p.log.Warn("browser phone offer could not be made", "agent", to.Agent, "error", err)
		return nil, dialErr(call.ErrUnreachable, call.CauseNoResponse)
	}
	l.mu.Lock()
	switch {
	case l.closed:
		l.mu.Unlock()
		g.close()
		metricOffers.WithLabelValues("unreachable").Inc()
		return nil, dialErr(call.ErrUnreachable, call.CauseNoResponse)
	case l.cur != nil:
		l.mu.Unlock()
		g.close()
		metricOffers.WithLabelValues("busy").Inc()
		return nil, dialErr(call.ErrBusy, call.CauseBusy)
	}
	l.cur = g
	l.mu.Unlock()
	ch, err := g.ring(ctx, opts)
	if err != nil {
		l.release(g)
		g.close()
		return nil, err
	}
	return ch, nil
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "web-" + hex.EncodeToString(b[:])
}

// Leg is one browser phone call: an offer, then, once answered, a call.Channel.
type Leg struct {
	p      *Phones
	line   *Line
	id     string
	agent  string
	caller call.Party
	log    *slog.Logger

	pc     *webrtc.PeerConnection
	track  *webrtc.TrackLocalStaticRTP
	remote chan *webrtc.TrackRemote

	connected, failed, accept, reject chan struct{}
	connOnce, failOnce                sync.Once
	acceptOnce, rejectOnce            sync.Once
	failErr                           atomic.Value
	answered, lost                    atomic.Bool
	ctx                               context.Context
	cancel                            context.CancelFunc
	ending                            atomic.Bool // end has begun
	sess                              *media.Session
	bridge                            *net.UDPConn
	digits                            *call.Digits
	wg                                sync.WaitGroup
}

func (p *Phones) newLeg(l *Line, agent string, opts call.OriginateOptions) (*Leg, error) {
	pc, err := p.api.NewPeerConnection(webrtc.Configuration{ICEServers: p.cfg.ICE})
	if err != nil {
		return nil, err
	}
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1}, "audio", "hotline")
	if err != nil {
		pc.Close()
		return nil, err
	}
	sender, err := pc.AddTrack(track)
	if err != nil {
		pc.Close()
		return nil, err
	}
	id := newID()
	g := &Leg{p: p, line: l, id: id, agent: agent, caller: opts.CallerID, pc: pc, track: track, remote: make(chan *webrtc.TrackRemote, 1),
		connected: make(chan struct{}), failed: make(chan struct{}), accept: make(chan struct{}), reject: make(chan struct{}),
		log: p.log.With("agent", agent, "call", id), digits: call.NewDigits(media.DigitBuffer)}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	go func() { // RTCP from the browser about our stream: the interceptors use it
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		select {
		case g.remote <- tr:
		default:
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		g.log.Debug("browser phone connection", "state", s.String())
		switch s {
		case webrtc.PeerConnectionStateConnected:
			g.connOnce.Do(func() { close(g.connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			err := fmt.Errorf("connection %s", s)
			if !g.answered.Load() {
				g.fail(err)
				return
			}
			// A page that hangs up closes its PeerConnection as it posts the hangup, and the
			// DTLS close can overtake the HTTP request: the explicit hangup gets a moment to
			// arrive before the call counts as lost (and the caller goes back in line).
			time.AfterFunc(lostGrace, func() { g.fail(err) })
		}
	})
	return g, nil
}

func (g *Leg) once(o *sync.Once, ch chan struct{}) { o.Do(func() { close(ch) }) }

// lostGrace is how long an answered call whose connection closed waits for the page's
// explicit hangup before it counts as lost.
const lostGrace = 1500 * time.Millisecond

// fail marks the connection as failed: an offer misses (unreachable), a call is lost.
func (g *Leg) fail(err error) {
	g.failOnce.Do(func() {
		g.failErr.Store(err)
		close(g.failed)
	})
	if g.answered.Load() {
		g.lose(err.Error())
	}
}

// ring offers the call and waits for the agent's answer and the media.
func (g *Leg) ring(ctx context.Context, opts call.OriginateOptions) (call.Channel, error) {
	to := call.Target{Agent: g.agent}
	miss := func(result string, err error, cause call.Cause) (call.Channel, error) {
		metricOffers.WithLabelValues(result).Inc()
		g.log.Info("browser phone offer missed", "result", result)
		return nil, &call.DialError{Target: to, Cause: cause, Err: err}
	}
	offer, err := g.pc.CreateOffer(nil)
	if err != nil {
		return miss("unreachable", call.ErrUnreachable, call.CauseNoResponse)
	}
	gathered := webrtc.GatheringCompletePromise(g.pc)
	if err := g.pc.SetLocalDescription(offer); err != nil {
		return miss("unreachable", call.ErrUnreachable, call.CauseNoResponse)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		metricOffers.WithLabelValues("cancelled").Inc()
		return nil, ctx.Err()
	case <-time.After(g.p.cfg.ConnectTimeout):
	}
	g.line.send(Event{Kind: "offer", Call: g.id, SDP: g.pc.LocalDescription().SDP, From: opts.CallerID})
	ringFor := opts.RingTimeout
	if ringFor <= 0 {
		ringFor = g.p.cfg.RingTimeout
	}
	ring := time.NewTimer(ringFor)
	defer ring.Stop()
	connect := time.NewTimer(g.p.cfg.ConnectTimeout)
	defer connect.Stop()
	connected, accepted := false, false
	cancel := func(reason string) { g.line.send(Event{Kind: "cancel", Call: g.id, Reason: reason}) }
	for !(connected && accepted) {
		select {
		case <-ctx.Done():
			cancel("withdrawn")
			metricOffers.WithLabelValues("cancelled").Inc()
			return nil, ctx.Err()
		case <-g.line.done:
			return miss("unreachable", call.ErrUnreachable, call.CauseNoResponse)
		case <-g.connected:
			connected, g.connected = true, nil
			connect.Stop()
		case <-connect.C:
			if !connected {
				cancel("no media connection")
				g.log.Warn("browser phone did not connect (ICE/DTLS) in time", "timeout", g.p.cfg.ConnectTimeout)
				return miss("unreachable", call.ErrUnreachable, call.CauseNoResponse)
			}
		case <-g.failed:
			cancel("no media connection")
			g.log.Warn("browser phone connection failed", "error", g.failErr.Load())
			return miss("unreachable", call.ErrUnreachable, call.CauseNoResponse)
		case <-g.accept:
			accepted, g.accept = true, nil
		case <-g.reject:
			return miss("rejected", call.ErrRejected, call.CauseRejected)
		case <-ring.C:
			cancel("no answer")
			return miss("no_answer", call.ErrNoAnswer, call.CauseNoAnswer)
		}
	}
	if err := g.startMedia(); err != nil {
		g.log.Warn("browser phone media", "error", err)
		cancel("media failed")
		return miss("unreachable", call.ErrUnreachable, call.CauseNoResponse)
	}
	g.answered.Store(true)
	metricOffers.WithLabelValues("answered").Inc()
	g.log.Info("browser phone answered")
	select {
	case <-g.failed: // it failed while we set up
		g.lose("connection failed")
	default:
	}
	return g, nil
}

// startMedia connects the browser's track with a media.Session through loopback sockets.
func (g *Leg) startMedia() error {
	rtpConn, rtcpConn, err := media.ListenRTP(g.p.cfg.RTPAddr, 0, 0)
	if err != nil {
		return err
	}
	bridge, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(g.p.cfg.RTPAddr, 0)))
	if err != nil {
		rtpConn.Close()
		rtcpConn.Close()
		return err
	}
	codec, dtmfPT := media.PCMU, uint8(101)
	for _, t := range g.pc.GetTransceivers() {
		if s := t.Sender(); s != nil {
			for _, c := range s.GetParameters().Codecs {
				switch c.MimeType {
				case webrtc.MimeTypePCMA:
					codec = media.PCMA
				case "audio/telephone-event":
					dtmfPT = uint8(c.PayloadType)
				}
			}
		}
	}
	g.sess = media.NewSession(rtpConn, rtcpConn, media.WithLogger(g.log), media.WithCodec(codec, dtmfPT))
	g.bridge = bridge
	g.sess.SetRemote(bridge.LocalAddr().(*net.UDPAddr).AddrPort())
	g.sess.Start()
	local := g.sess.LocalAddr()
	g.wg.Add(3)
	go func() { // browser → session
		defer g.wg.Done()
		var tr *webrtc.TrackRemote
		select {
		case tr = <-g.remote:
		case <-g.ctx.Done():
			return
		}
		buf := make([]byte, 1500)
		for {
			n, _, err := tr.Read(buf)
			if err != nil {
				return
			}
			if _, err := bridge.WriteToUDPAddrPort(buf[:n], local); err != nil && g.ctx.Err() != nil {
				return
			}
		}
	}()
	go func() { // session → browser
		defer g.wg.Done()
		buf := make([]byte, 1500)
		for {
			n, _, err := bridge.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if n < 2 || (buf[1] >= 192 && buf[1] <= 223) { // RTCP multiplexed: the interceptors do RTCP with the browser
				continue
			}
			_, _ = g.track.Write(buf[:n])
		}
	}()
	go func() { // digits the agent's page sends
		defer g.wg.Done()
		for {
			select {
			case d, ok := <-g.sess.Digits():
				if !ok {
					return
				}
				g.digits.Push(d)
			case <-g.ctx.Done():
				return
			}
		}
	}()
	return nil
}

// lose ends an answered call because the page vanished.
func (g *Leg) lose(why string) {
	if !g.answered.Load() {
		g.fail(errors.New(why))
		return
	}
	if g.ending.Load() { // hotline or the agent is ending it already: not lost
		return
	}
	if g.lost.CompareAndSwap(false, true) {
		metricLost.Inc()
		g.log.Warn("browser phone lost mid-call", "why", why)
	}
	g.end(true)
}

// end finishes the call; lost says whether the page vanished.
// Closing the PeerConnection fires its state handler, which may call lose and so end again:
// a flag, not a sync.Once, so that call returns at once instead of waiting on this one.
func (g *Leg) end(lost bool) {
	if !g.ending.CompareAndSwap(false, true) {
		return
	}
	if !lost {
		g.line.send(Event{Kind: "hangup", Call: g.id})
	}
	g.line.release(g)
	g.close()
}

func (g *Leg) close() {
	g.cancel()
	_ = g.pc.Close()
	if g.sess != nil {
		_ = g.sess.Close()
	}
	if g.bridge != nil {
		_ = g.bridge.Close()
	}
	g.wg.Wait()
}

// The answered leg as a call.Channel.

func (g *Leg) ID() string                   { return g.id }
func (g *Leg) Caller() call.Party           { return call.Party{Number: g.agent} }
func (g *Leg) Dialed() string               { return g.agent }
func (g *Leg) Context() context.Context     { return g.ctx }
func (g *Leg) Answer(context.Context) error { return nil }
func (g *Leg) FlushDigits()                 { g.digits.Flush() }

// MediaSession is the leg's RTP session (sip.MediaLeg: SIP channels bridge with it).
func (g *Leg) MediaSession() *media.Session { return g.sess }

// Lost reports whether the page vanished rather than hung up (call.Losable).
func (g *Leg) Lost() bool { return g.lost.Load() }

// MediaStats is what hotline received from the page (call.Measured).
func (g *Leg) MediaStats() (call.MediaStats, bool) {
	if g.sess == nil {
		return call.MediaStats{}, false
	}
	st := g.sess.Stats()
	return call.MediaStats{PacketsReceived: st.PacketsReceived, PacketsSent: st.PacketsSent, PacketsExpected: st.PacketsExpected,
		PacketsLost: st.PacketsLost, Jitter: st.Jitter}, true
}

func (g *Leg) hungUp() error {
	if g.ctx.Err() != nil {
		return call.ErrHangup
	}
	return nil
}

// Play plays prompts (8 kHz WAV files, or silence) to the agent.
func (g *Leg) Play(ctx context.Context, prompts []call.Prompt, opts call.PlayOptions) (string, error) {
	for {
		for _, p := range prompts {
			if err := g.hungUp(); err != nil {
				return "", err
			}
			var pcm []int16
			if p.File == "" {
				pcm = make([]int16, int(p.Silence/time.Millisecond)*8)
			} else {
				var err error
				if pcm, err = audio.LoadWAVFile(p.File); err != nil {
					return "", fmt.Errorf("webphone: prompt %q: %w", p.File, err)
				}
			}
			pctx, cancel := context.WithCancel(ctx)
			stop := context.AfterFunc(g.ctx, cancel)
			err := g.sess.Play(pctx, pcm)
			stop()
			cancel()
			if err != nil {
				if g.ctx.Err() != nil {
					return "", call.ErrHangup
				}
				return "", err
			}
		}
		if !opts.Loop {
			return "", nil
		}
	}
}

// ReadDigits collects digits the page sent (RFC 4733 from the browser's keypad).
func (g *Leg) ReadDigits(ctx context.Context, opts call.DigitOptions) (string, error) {
	if err := g.hungUp(); err != nil {
		return "", err
	}
	return g.digits.Read(ctx, g.ctx, opts)
}

// SendDigits sends RFC 4733 events to the page.
func (g *Leg) SendDigits(ctx context.Context, digits string) error {
	for _, d := range digits {
		if err := g.hungUp(); err != nil {
			return err
		}
		if err := g.sess.SendDigit(ctx, d, 100*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}

// Record is not offered on a browser leg: recordings tap the caller's session.
func (g *Leg) Record(context.Context, string, call.RecordOptions) (call.Recording, error) {
	return call.Recording{}, errors.New("webphone: recording on the agent's browser leg is not supported; record the caller's leg")
}

// Bridge joins the leg with a SIP channel (or another media leg) until either hangs up.
func (g *Leg) Bridge(ctx context.Context, other call.Channel) (string, error) {
	if o, ok := other.(*sip.Channel); ok {
		return o.Bridge(ctx, g)
	}
	return "", call.ErrNotBridgeable
}

// Hangup ends the call from hotline's side (the page is told).
func (g *Leg) Hangup(call.Cause) error {
	g.end(false)
	return nil
}
