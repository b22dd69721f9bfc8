package aritest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// channel is a channel the fake Asterisk has.
type channel struct {
	id       string
	snap     map[string]any // the channel object events and GET carry
	agent    string         // originated to this agent
	dialed   bool           // originated (gets ChannelDestroyed; inbound channels do not)
	inStasis bool
	bridge   string
	snoopOf  string // a snoop channel: the channel it snoops on
	spy      string // a snoop's spy and whisper directions
	whisper  string
	timer    *time.Timer // ring / answer timer of an originated channel
	done     chan struct{}
}

type playback struct {
	snap    map[string]any
	channel string
	timer   *time.Timer
}

type recording struct {
	name        string
	channel     string
	terminateOn string
	timer       *time.Timer
	wav         []byte // what it stores when it finishes
	muteFlag    bool   // Asterisk's own "muted" field, set by POST .../mute, cleared by DELETE
	muted       bool   // whether it writes silence now
}

type bridge struct {
	snap     map[string]any
	channels []string
}

// Call is a channel as a test drives it from the far end: the caller's phone for an inbound
// call, the agent's phone for an answered originate.
type Call struct {
	s    *Server
	ID   string
	done chan struct{}
}

// Done is closed when Asterisk no longer has the channel (hung up by either side).
func (c *Call) Done() <-chan struct{} { return c.done }

// DTMF sends digits from the far end: one ChannelDtmfReceived each. A '#' (or any digit, per
// terminateOn) ends a recording in progress, as Asterisk does.
func (c *Call) DTMF(digits string) error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[c.ID]
	if ch == nil {
		return fmt.Errorf("aritest: channel %s is gone", c.ID)
	}
	for _, d := range digits {
		ev := s.fx.event("ChannelDtmfReceived")
		ev["digit"] = string(d)
		ev["channel"] = clone(ch.snap)
		s.emit(ev)
		for _, rec := range s.live {
			if rec.channel == ch.id && (rec.terminateOn == "any" || strings.ContainsRune(rec.terminateOn, d)) {
				s.finishRecording(rec, "RecordingFinished.pound")
			}
		}
	}
	return nil
}

// Hangup hangs up from the far end (a BYE): ChannelHangupRequest without a cause, playbacks
// end "failed", a recording ends "done" with its file stored, the channel leaves its bridge,
// StasisEnd, and for an originated leg ChannelDestroyed.
func (c *Call) Hangup() {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch := s.channels[c.ID]; ch != nil {
		s.hangup(ch, "ChannelHangupRequest.remote")
	}
}

// Call is the far end of a channel Asterisk has (nil if none).
func (s *Server) Call(id string) *Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch := s.channels[id]; ch != nil {
		return &Call{s: s, ID: id, done: ch.done}
	}
	return nil
}

// Legs are the answered originated channels of an agent, oldest first.
func (s *Server) Legs(agent string) []*Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Call
	for _, ch := range s.channels {
		if ch.agent == agent && ch.inStasis {
			out = append(out, &Call{s: s, ID: ch.id, done: ch.done})
		}
	}
	return out
}

// Playing is the id of a playback running on the channel ("" if none).
func (s *Server) Playing(channelID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, pb := range s.playbacks {
		if pb.channel == channelID {
			return id
		}
	}
	return ""
}

// Recording is the name of a live recording of the channel ("" if none).
func (s *Server) Recording(channelID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, rec := range s.live {
		if rec.channel == channelID {
			return name
		}
	}
	return ""
}

// Bridged lists the channels in the bridges Asterisk has, by bridge id.
func (s *Server) Bridged() map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]string{}
	for id, b := range s.bridges {
		out[id] = append([]string(nil), b.channels...)
	}
	return out
}

// Inbound places a call to the Stasis application, as extensions.conf's
// Stasis(hotline,inbound,<exten>) does: StasisStart with the caller's number (the trace's
// 5551001 when caller is "") and the dialed extension (1000 when dialed is ""). Without a
// connected event WebSocket it fails with ErrDeclined.
func (s *Server) Inbound(caller, dialed string) (*Call, error) {
	return s.InboundFrom("", caller, dialed)
}

// InboundFrom is Inbound from the endpoint Asterisk names the channel after: name is the
// channel's name, e.g. "PJSIP/1001-0000002a" for a call placed by endpoint 1001's phone (the
// trace's "SIP/caller-00000002" when name is ""). Every event about the channel carries it.
func (s *Server) InboundFrom(name, caller, dialed string) (*Call, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil, ErrDeclined
	}
	s.seq++
	id := fmt.Sprintf("%d.%d", time.Now().Unix(), s.seq)
	ev := s.fx.event("StasisStart.inbound")
	snap := sub(ev, "channel")
	snap["id"] = id
	if name != "" {
		snap["name"] = name
	}
	if caller != "" {
		sub(snap, "caller")["number"] = caller
	}
	if dialed != "" {
		sub(snap, "dialplan")["exten"] = dialed
		sub(snap, "dialplan")["app_data"] = s.opts.App + ",inbound," + dialed
		ev["args"] = []any{"inbound", dialed}
	}
	ch := &channel{id: id, snap: clone(snap).(map[string]any), inStasis: true, done: make(chan struct{})}
	s.channels[id] = ch
	s.emit(ev)
	return &Call{s: s, ID: id, done: ch.done}, nil
}

func (s *Server) setState(ch *channel, state string) { ch.snap["state"] = state }

func (s *Server) channelEvent(name string, ch *channel) map[string]any {
	ev := s.fx.event(name)
	ev["channel"] = clone(ch.snap)
	return ev
}

// hangup ends a channel (s.mu held) with the events Asterisk sends, starting with the
// ChannelHangupRequest fixture req.
func (s *Server) hangup(ch *channel, req string) {
	s.stopTimer(ch.timer)
	if ch.inStasis && req != "" {
		s.emit(s.channelEvent(req, ch))
	}
	for id, pb := range s.playbacks {
		if pb.channel == ch.id {
			s.stopTimer(pb.timer)
			delete(s.playbacks, id)
			ev := s.fx.event("PlaybackFinished.failed")
			fill(sub(ev, "playback"), pb.snap, "id", "media_uri", "target_uri")
			s.emit(ev)
		}
	}
	for _, rec := range s.live {
		if rec.channel == ch.id {
			s.finishRecording(rec, "RecordingFinished.hangup")
		}
	}
	if ch.bridge != "" {
		s.leaveBridge(ch)
	}
	if ch.inStasis {
		s.emit(s.channelEvent("StasisEnd", ch))
	}
	if ch.dialed {
		s.emit(s.channelEvent("ChannelDestroyed.normal", ch))
	}
	delete(s.channels, ch.id)
	close(ch.done)
	// its snoops go with it: their recordings finish, StasisEnd, no hangup request
	// (asterisk22/record-snoop.jsonl, the caller's BYE)
	for _, sn := range s.channels {
		if sn.snoopOf == ch.id {
			s.hangup(sn, "")
		}
	}
}

// fill copies keys from src into dst.
func fill(dst, src map[string]any, keys ...string) {
	for _, k := range keys {
		dst[k] = src[k]
	}
}

func (s *Server) finishRecording(rec *recording, fixture string) {
	s.stopTimer(rec.timer)
	delete(s.live, rec.name)
	wav := rec.wav
	if wav == nil {
		wav = s.fx.wav
	}
	s.stored[rec.name] = append([]byte(nil), wav...)
	ev := s.fx.event(fixture)
	r := sub(ev, "recording")
	r["name"] = rec.name
	r["target_uri"] = "channel:" + rec.channel
	s.emit(ev)
}

func (s *Server) leaveBridge(ch *channel) {
	b := s.bridges[ch.bridge]
	ch.bridge = ""
	if b == nil {
		return
	}
	for i, id := range b.channels {
		if id == ch.id {
			b.channels = append(b.channels[:i], b.channels[i+1:]...)
			break
		}
	}
	ev := s.channelEvent("ChannelLeftBridge", ch)
	ev["bridge"] = s.bridgeSnap(b)
	s.emit(ev)
}

func (s *Server) bridgeSnap(b *bridge) map[string]any {
	snap := clone(b.snap).(map[string]any)
	chans := make([]any, len(b.channels))
	for i, id := range b.channels {
		chans[i] = id
	}
	snap["channels"] = chans
	return snap
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ari/events", s.events)
	h := func(pattern string, f func(http.ResponseWriter, *http.Request)) { mux.Handle(pattern, s.handle(f)) }
	h("GET /ari/channels", s.listChannels)
	h("POST /ari/channels", s.originate)
	h("GET /ari/channels/{id}", s.withChannel(s.getChannel))
	h("DELETE /ari/channels/{id}", s.withChannel(s.deleteChannel))
	h("POST /ari/channels/{id}/answer", s.withChannel(s.answer))
	h("POST /ari/channels/{id}/ring", s.withChannel(noContent))
	h("DELETE /ari/channels/{id}/ring", s.withChannel(noContent))
	h("POST /ari/channels/{id}/dtmf", s.withChannel(noContent))
	h("POST /ari/channels/{id}/play", s.withChannel(s.play))
	h("POST /ari/channels/{id}/record", s.withChannel(s.record))
	h("GET /ari/playbacks/{id}", s.getPlayback)
	h("DELETE /ari/playbacks/{id}", s.stopPlayback)
	h("GET /ari/recordings/live/{name}", s.getLive)
	h("POST /ari/recordings/live/{name}/stop", s.stopLive)
	h("GET /ari/recordings/stored/{name}", s.getStored)
	h("GET /ari/recordings/stored/{name}/file", s.getStoredFile)
	h("DELETE /ari/recordings/stored/{name}", s.deleteStored)
	h("POST /ari/bridges", s.createBridge)
	h("GET /ari/bridges/{id}", s.withBridge(s.getBridge))
	h("DELETE /ari/bridges/{id}", s.withBridge(s.destroyBridge))
	h("POST /ari/bridges/{id}/addChannel", s.withBridge(s.addChannel))
	h("POST /ari/bridges/{id}/removeChannel", s.withBridge(s.removeChannel))
	h("GET /ari/endpoints/{tech}", s.listEndpoints)
	h("POST /ari/applications/{app}/subscription", s.subscribe)
	h("POST /ari/channels/{id}/variable", s.withChannel(noContent))
	h("POST /ari/channels/{id}/transfer_progress", s.withChannel(s.transferProgress))
	h("POST /ari/channels/{id}/snoop", s.snoop)
	h("POST /ari/recordings/live/{name}/mute", s.mute)
	h("DELETE /ari/recordings/live/{name}/mute", s.unmute)
	mux.Handle("/", s.handle(func(w http.ResponseWriter, r *http.Request) {
		s.t.Errorf("aritest: %s %s is not something the fake Asterisk answers", r.Method, r.URL.Path)
		s.replyError(w, http.StatusNotFound, "Resource not found")
	}))
	return mux
}

func noContent(w http.ResponseWriter, _ *http.Request, _ *channel) {
	reply(w, http.StatusNoContent, nil)
}

func (s *Server) withChannel(f func(http.ResponseWriter, *http.Request, *channel)) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		ch := s.channels[r.PathValue("id")]
		if ch == nil {
			s.replyFixture(w, "channel.404")
			return
		}
		f(w, r, ch)
	}
}

func (s *Server) withBridge(f func(http.ResponseWriter, *http.Request, *bridge)) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		b := s.bridges[r.PathValue("id")]
		if b == nil {
			s.replyFixture(w, "bridge.404")
			return
		}
		f(w, r, b)
	}
}

func (s *Server) listChannels(w http.ResponseWriter, _ *http.Request) {
	list := []any{}
	for _, ch := range s.channels {
		list = append(list, clone(ch.snap))
	}
	reply(w, http.StatusOK, list)
}

func (s *Server) getChannel(w http.ResponseWriter, _ *http.Request, ch *channel) {
	reply(w, http.StatusOK, ch.snap)
}

func (s *Server) deleteChannel(w http.ResponseWriter, _ *http.Request, ch *channel) {
	s.hangup(ch, "ChannelHangupRequest.app")
	reply(w, http.StatusNoContent, nil) // the events went first, as in the trace
}

func (s *Server) answer(w http.ResponseWriter, _ *http.Request, ch *channel) {
	if ch.snap["state"] != "Up" {
		s.setState(ch, "Up")
		s.emit(s.channelEvent("ChannelStateChange.up", ch))
	}
	reply(w, http.StatusNoContent, nil)
}

func (s *Server) soundLength(media string) time.Duration {
	if s.opts.SoundLength != nil {
		if d := s.opts.SoundLength(media); d > 0 {
			return d
		}
	}
	return 3 * s.opts.Second
}

func (s *Server) play(w http.ResponseWriter, r *http.Request, ch *channel) {
	q := r.URL.Query()
	media := q.Get("media")
	id := q.Get("playbackId")
	if id == "" {
		s.seq++
		id = fmt.Sprintf("pb-%d", s.seq)
	}
	_, body := s.fx.body("play.201")
	body["id"], body["media_uri"], body["target_uri"] = id, media, "channel:"+ch.id
	pb := &playback{snap: clone(body).(map[string]any), channel: ch.id}
	pb.snap["state"] = "playing"
	s.playbacks[id] = pb
	ev := s.fx.event("PlaybackStarted")
	fill(sub(ev, "playback"), pb.snap, "id", "media_uri", "target_uri")
	s.emit(ev) // before the response, as in the trace
	pb.timer = s.after(s.soundLength(media), func() {
		if s.playbacks[id] != pb {
			return
		}
		delete(s.playbacks, id)
		ev := s.fx.event("PlaybackFinished.done")
		fill(sub(ev, "playback"), pb.snap, "id", "media_uri", "target_uri")
		s.emit(ev)
	})
	reply(w, http.StatusCreated, body)
}

func (s *Server) getPlayback(w http.ResponseWriter, r *http.Request) {
	pb := s.playbacks[r.PathValue("id")]
	if pb == nil {
		s.replyFixture(w, "playback.404")
		return
	}
	_, body := s.fx.body("playback.get")
	fill(body, pb.snap, "id", "media_uri", "target_uri")
	reply(w, http.StatusOK, body)
}

// stopPlayback: PlaybackFinished state "done" arrives before the DELETE's 204 (edge/bargein).
func (s *Server) stopPlayback(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	pb := s.playbacks[id]
	if pb == nil {
		s.replyFixture(w, "playback.404")
		return
	}
	s.stopTimer(pb.timer)
	delete(s.playbacks, id)
	ev := s.fx.event("PlaybackFinished.done")
	fill(sub(ev, "playback"), pb.snap, "id", "media_uri", "target_uri")
	s.emit(ev)
	reply(w, http.StatusNoContent, nil)
}

func (s *Server) record(w http.ResponseWriter, r *http.Request, ch *channel) {
	q := r.URL.Query()
	name := q.Get("name")
	if name == "" {
		s.replyError(w, http.StatusBadRequest, "Recording name must be specified")
		return
	}
	rec := &recording{name: name, channel: ch.id, terminateOn: q.Get("terminateOn")}
	switch ch.spy { // a snoop stores what Asterisk recorded through one
	case "in":
		rec.wav = s.fx.snoopIn
	case "out", "both":
		rec.wav = s.fx.snoopOut
	}
	s.live[name] = rec
	_, body := s.fx.body("record.201")
	body["name"], body["target_uri"], body["format"] = name, "channel:"+ch.id, q.Get("format")
	ev := s.fx.event("RecordingStarted")
	rr := sub(ev, "recording")
	rr["name"], rr["target_uri"] = name, "channel:"+ch.id
	s.emit(ev) // before the response, as in the main trace
	if secs, _ := strconv.Atoi(q.Get("maxDurationSeconds")); secs > 0 {
		rec.timer = s.after(time.Duration(secs)*s.opts.Second, func() {
			if s.live[name] == rec {
				s.finishRecording(rec, "RecordingFinished.stop")
			}
		})
	}
	reply(w, http.StatusCreated, body)
}

func (s *Server) getLive(w http.ResponseWriter, r *http.Request) {
	rec := s.live[r.PathValue("name")]
	if rec == nil {
		s.replyFixture(w, "live.404")
		return
	}
	_, body := s.fx.body("live.get")
	body["name"], body["target_uri"] = rec.name, "channel:"+rec.channel
	reply(w, http.StatusOK, body)
}

func (s *Server) stopLive(w http.ResponseWriter, r *http.Request) {
	rec := s.live[r.PathValue("name")]
	if rec == nil {
		s.replyFixture(w, "live.404")
		return
	}
	reply(w, http.StatusNoContent, nil)
	s.finishRecording(rec, "RecordingFinished.stop") // after the 204, as in the trace
}

func (s *Server) getStored(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if _, ok := s.stored[name]; !ok {
		s.replyFixture(w, "stored.404")
		return
	}
	_, body := s.fx.body("stored.get")
	body["name"] = name
	reply(w, http.StatusOK, body)
}

func (s *Server) getStoredFile(w http.ResponseWriter, r *http.Request) {
	b, ok := s.stored[r.PathValue("name")]
	if !ok {
		s.replyFixture(w, "stored.404")
		return
	}
	h := w.Header()
	h.Set("Server", "Asterisk/20.20.1")
	h.Set("Cache-Control", "no-cache, no-store")
	h.Set("Connection", "close")
	h.Set("Content-Type", "audio/wav") // spelled so in the trace for this one
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func (s *Server) deleteStored(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if _, ok := s.stored[name]; !ok {
		s.replyFixture(w, "stored.404")
		return
	}
	delete(s.stored, name)
	reply(w, http.StatusNoContent, nil)
}

// originate is POST /channels: the leg dials the agent named by the endpoint's resource.
func (s *Server) originate(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	endpoint := q.Get("endpoint")
	if endpoint == "" {
		s.replyFixture(w, "originate.400")
		return
	}
	_, resource, ok := strings.Cut(endpoint, "/")
	agent, _, _ := strings.Cut(resource, "@")
	b, known := s.agents[agent]
	if !ok || !known || s.offline[agent] {
		// what Asterisk answers when the channel driver cannot create the channel
		s.replyError(w, http.StatusInternalServerError, "Allocation failed")
		return
	}
	id := q.Get("channelId")
	if id == "" {
		s.seq++
		id = fmt.Sprintf("%d.%d", time.Now().Unix(), s.seq)
	}
	if s.channels[id] != nil {
		s.replyError(w, http.StatusConflict, "Channel with given unique ID already exists")
		return
	}
	timeout, err := strconv.Atoi(q.Get("timeout"))
	if err != nil || timeout <= 0 {
		timeout = 30
	}
	_, body := s.fx.body("originate.200")
	body["id"] = id
	ch := &channel{id: id, snap: clone(body).(map[string]any), agent: agent, dialed: true, done: make(chan struct{})}
	s.channels[id] = ch
	dial := func(fixture string) {
		ev := s.fx.event(fixture)
		ev["peer"] = clone(ch.snap)
		s.emit(ev)
	}
	destroy := func(fixture string) {
		ev := s.fx.event(fixture)
		ev["channel"] = clone(ch.snap)
		s.emit(ev)
		delete(s.channels, id)
		close(ch.done)
	}
	ringing := func() {
		s.setState(ch, "Ringing")
		s.emit(s.channelEvent("ChannelStateChange.ringing", ch))
		dial("Dial.ringing")
	}
	ring := time.Duration(timeout) * s.opts.Second
	dial("Dial.start") // before the response (edge/agent-busy)
	reply(w, http.StatusOK, body)
	switch b {
	case Answer:
		ch.timer = s.after(s.opts.AnswerAfter, func() {
			if s.channels[id] != ch {
				return
			}
			ringing()
			s.setState(ch, "Up")
			s.emit(s.channelEvent("ChannelStateChange.dialed-up", ch))
			dial("Dial.answer")
			start := s.fx.event("StasisStart.dialed")
			snap := sub(start, "channel")
			snap["id"] = id
			ch.snap = clone(snap).(map[string]any)
			args := []any{}
			if a := q.Get("appArgs"); a != "" {
				for _, x := range strings.Split(a, ",") {
					args = append(args, x)
				}
			}
			start["args"] = args
			ch.inStasis = true
			s.emit(start)
		})
	case NoAnswer:
		ch.timer = s.after(0, func() {
			if s.channels[id] != ch {
				return
			}
			ringing()
			ch.timer = s.after(ring, func() {
				if s.channels[id] == ch {
					destroy("ChannelDestroyed.noanswer")
				}
			})
		})
	case Busy:
		ch.timer = s.after(0, func() {
			if s.channels[id] == ch {
				dial("Dial.busy")
				destroy("ChannelDestroyed.busy")
			}
		})
	case Unreachable:
		ch.timer = s.after(ring, func() {
			if s.channels[id] == ch {
				destroy("ChannelDestroyed.unreachable")
			}
		})
	}
}

func (s *Server) createBridge(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("bridgeId")
	if id == "" {
		s.seq++
		id = fmt.Sprintf("bridge-%d", s.seq)
	}
	if s.bridges[id] != nil {
		s.replyError(w, http.StatusConflict, "Bridge with id '"+id+"' already exists")
		return
	}
	_, body := s.fx.body("bridge.create")
	body["id"] = id
	if n := q.Get("name"); n != "" {
		body["name"] = n
	}
	if t := q.Get("type"); t != "" {
		body["bridge_type"] = t
	}
	s.bridges[id] = &bridge{snap: clone(body).(map[string]any)}
	reply(w, http.StatusOK, body)
}

func (s *Server) getBridge(w http.ResponseWriter, _ *http.Request, b *bridge) {
	reply(w, http.StatusOK, s.bridgeSnap(b))
}

func (s *Server) addChannel(w http.ResponseWriter, r *http.Request, b *bridge) {
	ids := strings.Split(r.URL.Query().Get("channel"), ",")
	for _, id := range ids {
		if ch := s.channels[id]; ch == nil || !ch.inStasis {
			// Asterisk's answer for a channel that is missing or not in the application
			s.replyFixture(w, "addChannel.gone")
			return
		}
	}
	for _, id := range ids {
		ch := s.channels[id]
		if ch.bridge != "" {
			s.leaveBridge(ch)
		}
		ch.bridge = b.snap["id"].(string)
		b.channels = append(b.channels, id)
		ev := s.channelEvent("ChannelEnteredBridge", ch)
		ev["bridge"] = s.bridgeSnap(b)
		s.emit(ev)
	}
	reply(w, http.StatusNoContent, nil)
}

func (s *Server) removeChannel(w http.ResponseWriter, r *http.Request, b *bridge) {
	for _, id := range strings.Split(r.URL.Query().Get("channel"), ",") {
		if ch := s.channels[id]; ch != nil && ch.bridge == b.snap["id"] {
			s.leaveBridge(ch)
		}
	}
	reply(w, http.StatusNoContent, nil)
}

func (s *Server) destroyBridge(w http.ResponseWriter, _ *http.Request, b *bridge) {
	for _, id := range append([]string(nil), b.channels...) {
		if ch := s.channels[id]; ch != nil {
			s.leaveBridge(ch)
		}
	}
	delete(s.bridges, b.snap["id"].(string))
	ev := s.fx.event("BridgeDestroyed")
	ev["bridge"] = s.bridgeSnap(b)
	s.emit(ev)
	reply(w, http.StatusNoContent, nil)
}
