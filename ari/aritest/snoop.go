package aritest

import (
	"fmt"
	"net/http"
	"strings"
)

// Snoop channels, muted recordings and who hears whom, as Asterisk 22 does them
// (ari/testdata/asterisk22/record-snoop.jsonl and monitor-snoop.jsonl).

var snoopDirections = map[string]bool{"none": true, "in": true, "out": true, "both": true}

// snoop answers POST /channels/{id}/snoop: a Snoop/<id>-N channel that enters the application
// (its StasisStart after the 200, as in the trace). A recording of it stores the traced snoop
// recording of its direction.
func (s *Server) snoop(w http.ResponseWriter, r *http.Request) {
	target := s.channels[r.PathValue("id")]
	if target == nil {
		s.replyFixture(w, "snoop.404")
		return
	}
	q := r.URL.Query()
	spy, whisper := q.Get("spy"), q.Get("whisper")
	if spy == "" {
		spy = "none"
	}
	if whisper == "" {
		whisper = "none"
	}
	if !snoopDirections[spy] || !snoopDirections[whisper] || whisper == "both" {
		s.replyFixture(w, "snoop.400") // Asterisk's message names spy; the status is the same for whisper
		return
	}
	id := q.Get("snoopId")
	s.seq++
	if id == "" {
		id = fmt.Sprintf("snoop-%d", s.seq)
	}
	if s.channels[id] != nil {
		s.replyError(w, http.StatusConflict, "Channel with given unique ID already exists")
		return
	}
	_, body := s.fx.body("snoop.200")
	body["id"], body["name"] = id, fmt.Sprintf("Snoop/%s-%08x", target.id, s.seq)
	ch := &channel{id: id, snap: clone(body).(map[string]any), inStasis: true, snoopOf: target.id,
		spy: spy, whisper: whisper, done: make(chan struct{})}
	s.channels[id] = ch
	reply(w, http.StatusOK, body)
	ev := s.fx.event("StasisStart.snoop")
	ev["channel"] = clone(ch.snap)
	args := []any{}
	if a := q.Get("appArgs"); a != "" {
		for _, x := range strings.Split(a, ",") {
			args = append(args, x)
		}
	}
	ev["args"] = args
	s.emit(ev)
}

// mute answers POST /recordings/live/{name}/mute as Asterisk 22.10.1 does: every POST
// toggles the recording, a second one unmutes it again.
func (s *Server) mute(w http.ResponseWriter, r *http.Request) {
	rec := s.live[r.PathValue("name")]
	if rec == nil {
		s.replyFixture(w, "recording.404")
		return
	}
	rec.muteFlag, rec.muted = true, !rec.muted
	s.replyFixture(w, "mute.204")
}

// unmute answers DELETE /recordings/live/{name}/mute: it toggles only after a POST.
func (s *Server) unmute(w http.ResponseWriter, r *http.Request) {
	rec := s.live[r.PathValue("name")]
	if rec == nil {
		s.replyFixture(w, "recording.404")
		return
	}
	if rec.muteFlag {
		rec.muteFlag, rec.muted = false, !rec.muted
	}
	s.replyFixture(w, "unmute.204")
}

// Muted reports whether the live recording name writes silence now.
func (s *Server) Muted(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.live[name]
	return rec != nil && rec.muted
}

// Snoops lists the snoop channels on channelID, as "spy/whisper" by snoop id.
func (s *Server) Snoops(channelID string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for id, ch := range s.channels {
		if ch.snoopOf == channelID {
			out[id] = ch.spy + "/" + ch.whisper
		}
	}
	return out
}

// Hears reports whether the far end of channel listener hears the far end of speaker, as the
// Goertzel checks of monitor-snoop.jsonl found: channels in one bridge hear each other; a
// snoop with spy in/both brings what its channel says into the snoop's bridge, spy out/both
// what the channel hears; whisper=out brings the snoop's bridge to the channel itself,
// whisper=in to those the channel talks to.
func (s *Server) Hears(listener, speaker string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, sp := s.channels[listener], s.channels[speaker]
	if l == nil || sp == nil || listener == speaker {
		return false
	}
	together := func(a, b *channel) bool { return a.bridge != "" && a.bridge == b.bridge && a != b }
	if together(l, sp) {
		return true
	}
	for _, sn := range s.channels {
		x := s.channels[sn.snoopOf]
		if x == nil || sn.bridge == "" {
			continue
		}
		if together(l, sn) && sn.snoopOf != listener { // the listener is in the snoop's bridge
			if speaker == x.id && (sn.spy == "in" || sn.spy == "both") {
				return true
			}
			if together(x, sp) && (sn.spy == "out" || sn.spy == "both") {
				return true
			}
		}
		if together(sn, sp) { // the speaker is in the snoop's bridge
			if sn.whisper == "out" && listener == x.id {
				return true
			}
			if sn.whisper == "in" && together(x, l) {
				return true
			}
		}
	}
	return false
}
