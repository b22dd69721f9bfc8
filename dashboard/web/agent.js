// The agent desktop: the agent's state, their queues, the screen-pop of the call offered to
// them, in-call controls, the wrap-up form and a phone in the browser (WebRTC). Plain
// JavaScript, no build step; every value goes into the page as text, never as HTML.
"use strict";
(function () {
  var S = { me: null, agent: null, queues: {}, call: null, screen: null, wrap: null, offset: 0,
            phone: { on: false, es: null, stream: null, ice: [], pc: null, id: "", ringing: false, muted: false, stats: null } };
  window.hotlineDesk = S; // tests read the phone's audio figures here

  // ---- helpers ----
  function $(sel) { return document.querySelector(sel); }
  var el = hotlineWeb.el, cookie = hotlineWeb.cookie, api = hotlineWeb.api, toast = hotlineWeb.toast, fail = hotlineWeb.fail;
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); return e; }
  function now() { return Date.now() + S.offset; }
  function since(iso) { return iso ? (now() - Date.parse(iso)) / 1000 : null; }
  function dur(sec) {
    if (sec == null || isNaN(sec)) return "–";
    sec = Math.max(0, Math.floor(sec));
    var m = Math.floor(sec / 60), s = sec % 60;
    return m + ":" + String(s).padStart(2, "0");
  }
  function when(iso) { return iso ? new Date(iso).toLocaleString(undefined, { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }) : "–"; }
  function pair(dl, k, v) { if (v == null || v === "") return; dl.appendChild(el("dt", { text: k })); dl.appendChild(el("dd", { text: String(v) })); }

  // ---- the agent's state ----
  function renderAgent() {
    var a = S.agent;
    if (!a) return;
    $("#who").textContent = (a.name || a.id) + " (" + a.id + ")";
    var st = $("#state");
    st.textContent = a.state + (a.pause_reason ? " · " + a.pause_reason : "");
    st.dataset.state = a.state;
    document.body.dataset.agentState = a.state;
    $("#btn-available").disabled = a.state === "available" || a.state === "on-call" || a.state === "reserved";
    $("#btn-pause").disabled = a.state === "paused" || a.state === "logged-out";
    $("#btn-logout").disabled = a.state === "logged-out";
    if (S.wrap && a.state !== "wrap-up") $("#wrapup-left").textContent = "(wrap-up time is over; you may still save)";
  }
  function agentAction(action, reason) {
    var body = { action: action };
    if (reason) body.reason = reason;
    return api("POST", "/api/v1/agents/" + encodeURIComponent(S.me.agent) + "/actions", body).then(function (a) { S.agent = a; renderAgent(); }).catch(fail);
  }
  function available() {
    var st = S.agent && S.agent.state;
    agentAction(st === "paused" || st === "wrap-up" ? "unpause" : "login");
  }

  function renderQueues() {
    var tb = clear($("#queues tbody"));
    Object.keys(S.queues).sort().forEach(function (n) {
      var q = S.queues[n];
      tb.appendChild(el("tr", { "data-queue": n }, [el("td", { text: n }), el("td", { class: "waiting", text: String(q.waiting) }),
        el("td", { text: dur(q.oldest_wait_seconds) }), el("td", { text: String((q.agents && q.agents.available) || 0) })]));
    });
  }
  function loadContacts() {
    api("GET", "/api/v1/contacts?limit=10").then(function (l) {
      var ul = clear($("#contacts"));
      l.items.forEach(function (c) { ul.appendChild(contactItem(c)); });
    }).catch(function () {});
  }
  // The missed-contact worklist: items nobody has or this agent has; take, then close.
  var reasons = { abandoned: "hung up waiting", timeout: "waited too long", no_agent: "no agent", after_hours: "after hours",
    abandoned_in_ivr: "hung up in the menus", voicemail: "voicemail", callback_failed: "callback failed" };
  function loadWorklist() {
    api("GET", "/api/v1/worklist?state=pending&limit=50").then(function (l) {
      var tb = clear($("#worklist tbody"));
      l.items.filter(function (it) { return !it.owner || it.owner === S.me.agent; }).forEach(function (it) {
        var acts = el("span");
        if (it.state === "open") {
          acts.appendChild(el("button", { "data-action": "take", text: "Take", onclick: function () { workPost(it, "take"); } }));
        } else {
          var how = el("select", { "aria-label": "How" }, [["called_back", "called back"], ["ticket", "ticket"], ["no_action", "no action"]].map(function (h) { return el("option", { value: h[0], text: h[1] }); }));
          acts.appendChild(how);
          acts.appendChild(el("button", { "data-action": "close", text: "Done", onclick: function () { workPost(it, "close", { how: how.value }); } }));
          acts.appendChild(el("button", { "data-action": "release", text: "Release", onclick: function () { workPost(it, "release"); } }));
        }
        var tr = el("tr", { "data-work": it.id }, [when(it.created_at), it.address || "withheld", it.queue || "–", reasons[it.reason] || it.reason,
          when(it.due_at) + (it.overdue ? " (overdue)" : ""), it.owner || "–"].map(function (c) { return el("td", { text: c }); }).concat([el("td", null, [acts])]));
        if (it.overdue) tr.classList.add("overdue");
        tb.appendChild(tr);
      });
    }).catch(function () {});
  }
  function workPost(it, action, body) {
    api("POST", "/api/v1/worklist/" + encodeURIComponent(it.id) + "/" + action, body).then(function () { toast("Done"); loadWorklist(); }).catch(fail);
  }

  function contactItem(c) {
    var line = when(c.started_at) + " · " + c.channel + " · " + c.outcome + (c.queue ? " · " + c.queue : "") + (c.agent ? " · " + c.agent : "");
    var li = el("li", { "data-contact": c.id, text: line });
    if (c.disposition) li.appendChild(el("div", { class: "disposition", text: c.disposition.code + (c.disposition.note ? ": " + c.disposition.note : "") }));
    (c.dispositions || []).forEach(function (d) { li.appendChild(el("div", { class: "disposition", text: d.code + (d.note ? ": " + d.note : "") })); });
    return li;
  }

  // ---- the call offered or connected ----
  function onCall(ev) {
    var c = ev.call;
    if (ev.ended || !c || c.agent !== S.me.agent) {
      // the call ended or left this agent: one they talked to goes to wrap-up
      if (S.call && S.call.id === ev.id) callGone(S.call.state === "connected");
      return;
    }
    var fresh = !S.call || S.call.id !== c.id;
    S.call = c;
    if (fresh) { S.screen = null; loadScreen(c.id); }
    renderCall();
  }
  function loadScreen(id) {
    api("GET", "/api/v1/calls/" + encodeURIComponent(id) + "/screen").then(function (pop) {
      if (!S.call || S.call.id !== id) return;
      S.screen = pop; renderScreen();
    }).catch(fail);
  }
  function renderCall() {
    var c = S.call, p = $("#call-panel");
    if (!c) { p.hidden = true; return; }
    p.hidden = false;
    p.dataset.call = c.id; p.dataset.state = c.state;
    $("#call-title").textContent = (c.caller_name ? c.caller_name + " · " : "") + (c.caller || "withheld") + (c.queue ? " · " + c.queue : "");
    $("#call-state").textContent = c.state + (c.on_hold ? " · on hold" : "");
    $("#call-state").dataset.state = c.state;
    var ringing = c.state === "ringing";
    $("#offer-actions").hidden = !ringing;
    $("#incall-actions").hidden = c.state !== "connected";
    $("#btn-answer").disabled = !S.phone.id;
    $("#btn-decline").disabled = !S.phone.id;
    $("#offer-hint").textContent = S.phone.id ? "" : "Answer on your phone";
    $("#btn-hold").textContent = c.on_hold ? "Resume" : "Hold";
    $("#btn-mute").disabled = !S.phone.pc;
    $("#btn-mute").title = S.phone.pc ? "" : "Mute on your phone";
  }
  function renderScreen() {
    var pop = S.screen;
    var dl = clear($("#customer"));
    if (pop.customer) {
      var cu = pop.customer;
      var name = el("dd", { class: "customer-name", text: cu.name || "(no name)" });
      if (cu.vip) name.appendChild(el("span", { class: "vip", text: "VIP" }));
      dl.appendChild(el("dt", { text: "Name" })); dl.appendChild(name);
      (cu.identities || []).forEach(function (i) { if (i.kind === "account") pair(dl, "Account", i.value); });
      pair(dl, "Tier", cu.tier); pair(dl, "Language", cu.language);
      pair(dl, "Customer since", when(cu.created_at));
    } else pair(dl, "Customer", "not known");
    pair(dl, "Waited", dur(pop.waited_seconds));
    var ol = clear($("#ivr-path"));
    pop.ivr.forEach(function (s) { ol.appendChild(el("li", { text: s.node + " (" + s.kind + ")" + (s.exit ? " → " + s.exit : "") + (s.detail ? " · " + s.detail : "") })); });
    var vars = clear($("#ivr-vars"));
    Object.keys(pop.vars).sort().forEach(function (k) { pair(vars, k, pop.vars[k]); });
    var ul = clear($("#pop-contacts"));
    pop.contacts.forEach(function (c) { ul.appendChild(contactItem(c)); });
    if (!pop.contacts.length) ul.appendChild(el("li", { class: "muted", text: "first contact" }));
    var tk = clear($("#pop-tickets"));
    pop.tickets.forEach(function (t) { tk.appendChild(el("li", { text: "#" + t.number + " " + t.subject + " · " + t.status })); });
    var cb = clear($("#pop-callbacks"));
    pop.callbacks.forEach(function (c) { cb.appendChild(el("li", { text: when(c.due_at || c.created_at) + " · " + c.queue + " · " + c.status })); });
    $("#call-panel").dataset.screen = "ready";
  }
  // callGone: the call ended, or left this agent. A call the agent talked to goes to wrap-up.
  function callGone(talked) {
    var c = S.call;
    S.call = null;
    stopRing();
    if (talked && c) startWrapUp(c);
    $("#call-panel").hidden = !talked; // the screen stays beside the wrap-up form
    $("#offer-actions").hidden = true; $("#incall-actions").hidden = true;
    if (talked) { $("#call-state").textContent = "ended"; $("#call-state").dataset.state = "ended"; $("#call-panel").dataset.state = "ended"; }
    loadContacts();
  }
  function startWrapUp(c) {
    var codes = (S.screen && S.screen.dispositions) || [];
    S.wrap = { id: c.id, queue: c.queue };
    var sel = clear($("#wrapup-code"));
    if (!codes.length) sel.appendChild(el("option", { value: "", text: "(no codes for this queue)" }));
    codes.forEach(function (k) { sel.appendChild(el("option", { value: k, text: k })); });
    $("#wrapup-note").value = "";
    $("#wrapup-call").textContent = (c.caller || "withheld") + (c.queue ? " · " + c.queue : "");
    $("#wrapup-left").textContent = "";
    $("#wrapup").hidden = false;
    $("#wrapup").dataset.call = c.id;
  }
  function submitWrapUp(e) {
    e.preventDefault();
    if (!S.wrap) return;
    var id = S.wrap.id;
    api("POST", "/api/v1/calls/" + encodeURIComponent(id) + "/wrapup", { code: $("#wrapup-code").value, note: $("#wrapup-note").value }).then(function () {
      S.wrap = null;
      $("#wrapup").hidden = true;
      $("#call-panel").hidden = !S.call;
      toast("Saved");
      document.body.dataset.wrapup = "saved";
      loadContacts();
    }).catch(fail);
  }

  function callPost(what, body) {
    if (!S.call) return Promise.resolve();
    return api("POST", "/api/v1/calls/" + encodeURIComponent(S.call.id) + "/" + what, body).catch(fail);
  }
  function buildKeypad() {
    var k = $("#keypad");
    "123456789*0#".split("").forEach(function (d) {
      k.appendChild(el("button", { type: "button", "data-key": d, text: d, onclick: function () { callPost("dtmf", { digits: d }); } }));
    });
  }

  // ---- the phone in the browser ----
  var ringCtx = null, ringTimer = null;
  function ringOnce() {
    if (!ringCtx) return;
    var t0 = ringCtx.currentTime, g = ringCtx.createGain();
    g.gain.value = 0.15; g.connect(ringCtx.destination);
    [440, 480].forEach(function (f) { var o = ringCtx.createOscillator(); o.frequency.value = f; o.connect(g); o.start(t0); o.stop(t0 + 2); });
  }
  function startRing() {
    if (S.phone.ringing) return;
    S.phone.ringing = true; document.body.dataset.ringing = "true";
    ringOnce(); ringTimer = setInterval(ringOnce, 6000);
  }
  function stopRing() { S.phone.ringing = false; document.body.dataset.ringing = "false"; clearInterval(ringTimer); }

  function phonePost(op, body) {
    return api("POST", "/api/v1/phone/calls/" + encodeURIComponent(S.phone.id) + "/" + op, body);
  }
  function togglePhone() {
    if (S.phone.on) { stopPhone(); return; }
    try { ringCtx = ringCtx || new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { ringCtx = null; }
    navigator.mediaDevices.getUserMedia({ audio: true, video: false }).then(function (stream) {
      S.phone.stream = stream; S.phone.on = true;
      var es = new EventSource("/api/v1/phone");
      S.phone.es = es;
      es.addEventListener("ready", function (m) {
        var d = JSON.parse(m.data);
        S.phone.ice = (d.ice_servers || []).map(function (s) { return { urls: s.urls, username: s.username, credential: s.credential }; });
        $("#phone-state").textContent = "phone ready"; document.body.dataset.phone = "ready";
      });
      es.addEventListener("phone", function (m) { onPhone(JSON.parse(m.data)); });
      es.onerror = function () { $("#phone-state").textContent = "phone reconnecting…"; document.body.dataset.phone = "reconnecting"; };
      $("#btn-phone").setAttribute("aria-pressed", "true"); $("#btn-phone").textContent = "Browser phone on";
    }).catch(function (e) { fail(new Error("no microphone: " + e.message)); });
  }
  function stopPhone() {
    if (S.phone.es) S.phone.es.close();
    closePC();
    if (S.phone.stream) S.phone.stream.getTracks().forEach(function (t) { t.stop(); });
    S.phone.on = false; S.phone.es = null; S.phone.stream = null;
    $("#btn-phone").setAttribute("aria-pressed", "false"); $("#btn-phone").textContent = "Use this browser as my phone";
    $("#phone-state").textContent = ""; document.body.dataset.phone = "off";
  }
  function closePC() {
    stopRing();
    if (S.phone.pc) { try { S.phone.pc.close(); } catch (e) { /* closed */ } }
    S.phone.pc = null; S.phone.id = ""; S.phone.muted = false;
    $("#btn-mute").setAttribute("aria-pressed", "false");
    renderCall();
  }
  function onPhone(ev) {
    if (ev.kind === "offer") { offer(ev); return; }
    if (ev.call === S.phone.id && (ev.kind === "cancel" || ev.kind === "hangup")) closePC();
  }
  function offer(ev) {
    closePC();
    var pc = new RTCPeerConnection({ iceServers: S.phone.ice });
    S.phone.pc = pc; S.phone.id = ev.call;
    S.phone.stream.getAudioTracks().forEach(function (t) { t.enabled = true; pc.addTrack(t, S.phone.stream); });
    pc.ontrack = function (e) { $("#remote-audio").srcObject = e.streams[0] || new MediaStream([e.track]); };
    pc.onconnectionstatechange = function () { document.body.dataset.pc = pc.connectionState; };
    pc.setRemoteDescription({ type: "offer", sdp: ev.sdp }).then(function () { return pc.createAnswer(); })
      .then(function (a) { return pc.setLocalDescription(a); })
      .then(function () { return gathered(pc); })
      .then(function () { return phonePost("sdp", { sdp: pc.localDescription.sdp }); })
      .then(function () { if (S.phone.pc === pc) { startRing(); renderCall(); } })
      .catch(function (e) { fail(e); if (S.phone.pc === pc) phonePost("reject").catch(function () {}); });
  }
  function gathered(pc) {
    return new Promise(function (done) {
      if (pc.iceGatheringState === "complete") return done();
      var t = setTimeout(done, 3000);
      pc.addEventListener("icegatheringstatechange", function () { if (pc.iceGatheringState === "complete") { clearTimeout(t); done(); } });
    });
  }
  function answer() {
    if (!S.phone.id) return;
    stopRing();
    phonePost("accept").then(function () { document.body.dataset.answered = "true"; }).catch(fail);
  }
  function decline() { if (S.phone.id) phonePost("reject").catch(fail); closePC(); }
  function hangup() {
    // The PeerConnection closes once hotline has the hangup: closing first would let the
    // media close overtake the request and look like a lost phone.
    if (S.phone.pc && S.phone.id) { var pc = S.phone.pc; phonePost("hangup").catch(fail).then(function () { if (S.phone.pc === pc) closePC(); }); return; }
    callPost("hangup");
  }
  function mute() {
    if (!S.phone.stream || !S.phone.pc) return;
    S.phone.muted = !S.phone.muted;
    S.phone.stream.getAudioTracks().forEach(function (t) { t.enabled = !S.phone.muted; });
    $("#btn-mute").setAttribute("aria-pressed", String(S.phone.muted));
    $("#btn-mute").textContent = S.phone.muted ? "Unmute" : "Mute";
  }
  // quality: the browser phone's own figures (getStats), or what hotline measures of a
  // softphone's audio.
  function quality() {
    var pc = S.phone.pc;
    if (pc) {
      pc.getStats().then(function (stats) {
        var q = { packetsReceived: 0, packetsLost: 0, jitter: 0, audioLevel: 0, packetsSent: 0, rtt: null };
        stats.forEach(function (r) {
          if (r.type === "inbound-rtp" && r.kind === "audio") { q.packetsReceived = r.packetsReceived || 0; q.packetsLost = r.packetsLost || 0; q.jitter = r.jitter || 0; q.audioLevel = r.audioLevel || 0; }
          if (r.type === "outbound-rtp" && r.kind === "audio") q.packetsSent = r.packetsSent || 0;
          if (r.type === "remote-inbound-rtp" && r.roundTripTime != null) q.rtt = r.roundTripTime;
          if (r.type === "candidate-pair" && r.nominated && r.currentRoundTripTime != null && q.rtt == null) q.rtt = r.currentRoundTripTime;
        });
        S.phone.stats = q;
        var exp = q.packetsReceived + q.packetsLost;
        $("#call-quality").textContent = "audio: " + q.packetsReceived + " pkts in, " + q.packetsSent + " out, loss " +
          (exp ? (100 * q.packetsLost / exp).toFixed(1) : "0.0") + "%, jitter " + Math.round(q.jitter * 1000) + " ms" + (q.rtt != null ? ", rtt " + Math.round(q.rtt * 1000) + " ms" : "");
      }).catch(function () {});
      return;
    }
    var a = S.call && S.call.audio && S.call.audio.agent;
    $("#call-quality").textContent = a ? "audio from your phone: loss " + ((a.lost_ratio || 0) * 100).toFixed(1) + "%, jitter " + Math.round((a.jitter_ms || 0)) + " ms" : "";
  }
  function tick() {
    if (S.call) $("#call-timer").textContent = dur(since(S.call.since));
    if (S.agent) $("#state-since").textContent = dur(since(S.agent.since));
    quality();
  }

  // ---- live state ----
  function connect() {
    var es = new EventSource("/api/v1/events");
    es.addEventListener("snapshot", function (m) {
      var d = JSON.parse(m.data);
      S.offset = Date.parse(d.at) - Date.now();
      S.agent = d.agents[0] || null; renderAgent();
      S.queues = {}; d.queues.forEach(function (q) { S.queues[q.queue] = q; }); renderQueues();
      var mine = d.calls.filter(function (c) { return c.agent === S.me.agent; });
      if (mine.length) onCall({ id: mine[0].id, call: mine[0] });
      $("#conn").textContent = "";
      document.body.dataset.ready = "true";
    });
    es.addEventListener("agent", function (m) { var d = JSON.parse(m.data); S.agent = d.agent; renderAgent(); });
    es.addEventListener("queue", function (m) { var d = JSON.parse(m.data); S.queues[d.id] = d.queue; renderQueues(); });
    es.addEventListener("call", function (m) { onCall(JSON.parse(m.data)); });
    es.onerror = function () { $("#conn").textContent = "reconnecting…"; };
  }
  function wire() {
    $("#btn-available").addEventListener("click", available);
    $("#btn-pause").addEventListener("click", function () { agentAction("pause", $("#pause-reason").value); });
    $("#btn-logout").addEventListener("click", function () { agentAction("logout"); });
    $("#btn-phone").addEventListener("click", togglePhone);
    $("#btn-answer").addEventListener("click", answer);
    $("#btn-decline").addEventListener("click", decline);
    $("#btn-hangup").addEventListener("click", hangup);
    $("#btn-mute").addEventListener("click", mute);
    $("#btn-hold").addEventListener("click", function () { callPost(S.call && S.call.on_hold ? "resume" : "hold"); });
    $("#btn-transfer").addEventListener("click", function () {
      var t = $("#transfer-target").value.trim();
      if (t) callPost("transfer", { target: t }).then(function (r) { if (r) toast("transfer: " + r.status + " " + r.reason); });
    });
    $("#wrapup-form").addEventListener("submit", submitWrapUp);
    buildKeypad();
  }
  function start() {
    wire();
    api("GET", "/api/v1/me").then(function (me) {
      if (me.role !== "agent") { location.replace("/"); return; }
      S.me = me;
      $("#app").hidden = false;
      connect(); loadContacts(); loadWorklist(); setInterval(loadWorklist, 30000);
      setInterval(tick, 1000);
    }).catch(function (e) {
      if (e.status !== 401) fail(e);
      $("#login").hidden = false;
      document.body.dataset.ready = "login";
    });
  }
  start();
})();
