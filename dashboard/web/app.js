// The hotline dashboard: plain JavaScript, no build step. Live state comes from the
// /api/v1/events stream; everything else from the REST API. All data goes into the page as
// text (textContent), never as HTML.
"use strict";
(function () {
  var t = i18n.t;
  var S = { me: null, queues: {}, queueOrder: [], agents: {}, agentOrder: [], calls: {}, endedCalls: {}, offset: 0, view: "wallboard",
            ticket: null, customer: null };

  // ---- helpers ----
  function $(sel, root) { return (root || document).querySelector(sel); }
  var el = hotlineWeb.el, cookie = hotlineWeb.cookie, api = hotlineWeb.api, toast = hotlineWeb.toast, fail = hotlineWeb.fail;
  function now() { return Date.now() + S.offset; } // server time
  function dur(sec) {
    if (sec == null || isNaN(sec)) return "–";
    sec = Math.max(0, Math.floor(sec));
    var h = Math.floor(sec / 3600), m = Math.floor(sec % 3600 / 60), s = sec % 60;
    var mm = (h ? String(m).padStart(2, "0") : String(m)) + ":" + String(s).padStart(2, "0");
    return h ? h + ":" + mm : mm;
  }
  function pct(v) { return v == null ? "–" : (Math.round(v * 1000) / 10).toFixed(1) + "%"; }
  function since(iso) { return iso ? (now() - Date.parse(iso)) / 1000 : null; }
  function when(iso) {
    if (!iso) return "–";
    var d = new Date(iso);
    return d.toLocaleString(i18n.lang() === "zh" ? "zh-CN" : undefined, { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function row(cells, attrs) { return el("tr", attrs, cells.map(function (c) { return c instanceof Node ? el("td", null, [c]) : el("td", { text: c == null ? "" : String(c) }); })); }
  function emptyRow(tbody, cols, key) { tbody.appendChild(el("tr", null, [el("td", { colspan: String(cols), class: "muted", text: t(key) })])); }
  function isSup() { return S.me && S.me.role === "supervisor"; }

  // ---- views ----
  function show(view) {
    S.view = view;
    document.querySelectorAll("#nav button").forEach(function (b) { b.classList.toggle("active", b.dataset.view === view); });
    document.querySelectorAll("main .view").forEach(function (s) { s.hidden = s.id !== "view-" + view; });
    if (location.hash.slice(1) !== view) history.replaceState(null, "", "#" + view);
    if (callsTimer && view !== "calls") { clearInterval(callsTimer); callsTimer = null; }
    var load = loaders[view];
    if (load) load();
  }
  var loaders = {};

  // ---- wallboard ----
  function metric(key, value, cls) { return el("div", { class: "metric " + (cls || "") }, [el("div", { class: "v " + key, text: value }), el("div", { class: "k", "data-key": key, text: t("wall." + key) })]); }
  function renderQueues() {
    var box = clear($("#queues"));
    if (!S.queueOrder.length) { box.appendChild(el("p", { class: "muted", text: t("wall.none") })); return; }
    S.queueOrder.forEach(function (name) {
      var q = S.queues[name];
      var oldest = q.waiting > 0 ? q.oldest_wait_seconds + Math.max(0, (now() - Date.parse(q.at)) / 1000) : 0;
      var slBad = q.service_level != null && q.service_level < 0.8;
      var card = el("div", { class: "queue" + (slBad || oldest > 60 ? " alert" : ""), "data-queue": name }, [
        el("h3", { text: name }),
        el("div", { class: "big" }, [
          metric("waiting", String(q.waiting), q.waiting > 0 ? "bad" : ""),
          metric("oldest", q.waiting > 0 ? dur(oldest) : "–"),
          metric("servicelevel", pct(q.service_level), q.service_level == null ? "" : (slBad ? "bad" : "good")),
          metric("abandon", pct(q.abandon_rate))
        ])
      ]);
      card.querySelector(".v.waiting").classList.add("waiting");
      var pills = el("div", { class: "agents-by-state" });
      [["available", q.agents.available], ["reserved", q.agents.reserved], ["on-call", q.agents.on_call], ["wrap-up", q.agents.wrap_up],
       ["paused", q.agents.paused], ["logged-out", q.agents.logged_out]].forEach(function (p) {
        pills.appendChild(el("span", { class: "pill " + p[0], "data-state": p[0], text: t("state." + p[0]) + " " + p[1] }));
      });
      card.appendChild(pills);
      if (q.waiting_callbacks) card.appendChild(el("div", { class: "muted", text: t("wall.callbacks") + ": " + q.waiting_callbacks }));
      box.appendChild(card);
    });
  }

  // ---- agents ----
  var reasons = ["break", "lunch", "training", "meeting", "other"];
  function agentAction(id, action, reason) {
    var body = { action: action };
    if (action === "pause") body.reason = reason;
    return api("POST", "/api/v1/agents/" + encodeURIComponent(id) + "/actions", body).then(function (a) {
      S.agents[a.id] = a; renderAgents();
    }).catch(fail);
  }
  function renderAgents() {
    var tb = clear($("#agents-table tbody"));
    S.agentOrder.forEach(function (id) {
      var a = S.agents[id];
      var sel = el("select", { class: "reason", "aria-label": t("agents.reason") }, reasons.map(function (r) { return el("option", { value: r, text: t("reason." + r) }); }));
      var acts = el("span", { class: "actions" });
      if (a.state === "logged-out") {
        acts.appendChild(el("button", { "data-action": "login", text: t("agents.login"), onclick: function () { agentAction(id, "login"); } }));
      } else {
        if (a.state === "paused") {
          acts.appendChild(el("button", { "data-action": "unpause", text: t("agents.unpause"), onclick: function () { agentAction(id, "unpause"); } }));
        } else {
          acts.appendChild(sel);
          acts.appendChild(el("button", { "data-action": "pause", text: t("agents.pause"), onclick: function () { agentAction(id, "pause", sel.value); } }));
        }
        acts.appendChild(el("button", { "data-action": "logout", class: "danger", text: t("agents.logout"), onclick: function () { agentAction(id, "logout"); } }));
      }
      var reason = a.pause_reason ? (t("reason." + a.pause_reason) === "reason." + a.pause_reason ? a.pause_reason : t("reason." + a.pause_reason)) : (a.pending_pause ? "→ " + a.pending_pause : "");
      var tr = row([a.name ? a.name + " (" + a.id + ")" : a.id, el("span", { class: "state " + a.state, text: t("state." + a.state) }),
        el("span", { class: "time", "data-since": a.since, text: dur(since(a.since)) }), reason, String(a.calls_handled), (a.queues || []).join(", "), acts],
        { "data-agent": id, "data-state": a.state });
      tr.children[1].classList.add("state-cell");
      tr.children[3].classList.add("reason-cell");
      tb.appendChild(tr);
    });
  }

  // ---- calls ----
  // A leg's audio is poor when more than this share of its packets is lost, or its jitter is
  // higher, in either direction: as hotline receives it, or as the peer reports hearing it
  // (docs/api.md says the same).
  var AUDIO_POOR = { lostRatio: 0.02, jitterMs: 40 };
  var CALLS_REFRESH_MS = 5000; // call events come on state changes only; audio figures move all the time
  var callsTimer = null;
  function audioPoor(lostRatio, jitterMs) { return lostRatio > AUDIO_POOR.lostRatio || jitterMs > AUDIO_POOR.jitterMs; }
  // audioLeg is one leg's line: what hotline receives ("caller 0.0% · 3 ms") and, once the peer
  // has sent an RTCP report, what it hears of hotline ("hears 4.0% · 20 ms · RTT 80 ms").
  function audioLeg(leg, x) {
    var heard = x.heard_lost_ratio != null;
    var poor = audioPoor(x.lost_ratio, x.jitter_ms) || (heard && audioPoor(x.heard_lost_ratio, x.heard_jitter_ms || 0));
    var title = t("audio.title", { received: x.packets_received, lost: x.packets_lost, loss: pct(AUDIO_POOR.lostRatio), jitter: AUDIO_POOR.jitterMs });
    var line = el("span", { class: "audio-leg" + (poor ? " poor" : ""), "data-leg": leg },
      [el("span", { class: "audio-in", text: t("audio." + leg) + " " + pct(x.lost_ratio) + " · " + Math.round(x.jitter_ms) + " ms" })]);
    if (heard) {
      var h = t("audio.hears", { loss: pct(x.heard_lost_ratio), jitter: Math.round(x.heard_jitter_ms || 0) });
      if (x.rtt_ms) h += " · " + t("audio.rtt", { rtt: Math.round(x.rtt_ms) });
      line.appendChild(document.createTextNode(t("audio.sep")));
      line.appendChild(el("span", { class: "audio-heard", text: h }));
      title += "\n" + t("audio.heard.title");
    }
    line.title = title;
    return line;
  }
  function audioCell(a) {
    var box = el("span", { class: "audio" });
    if (!a || (!a.caller && !a.agent)) { box.textContent = "–"; return box; }
    ["caller", "agent"].forEach(function (leg) { if (a[leg]) box.appendChild(audioLeg(leg, a[leg])); });
    return box;
  }
  // callActions are the controls of a connected call: transfer (to an agent, a queue or a
  // number: the API checks the target) and hold or resume.
  function callActions(c) {
    var box = el("span", { class: "actions" });
    if (c.state !== "connected") return box;
    var target = el("input", { class: "transfer-target", placeholder: t("calls.target"), "aria-label": t("calls.target"), size: 10 });
    var go = el("button", { "data-action": "transfer", text: t("calls.transfer") });
    go.onclick = function () {
      var v = target.value.trim();
      if (!v) { target.focus(); return; }
      go.disabled = true;
      api("POST", "/api/v1/calls/" + encodeURIComponent(c.id) + "/transfer", { target: v }).then(function (r) {
        if (r.call && r.call.id) S.calls[r.call.id] = r.call;
        renderCalls();
      }).catch(fail).then(function () { go.disabled = false; });
    };
    var hold = c.on_hold ? "resume" : "hold";
    var hb = el("button", { "data-action": hold, text: t("calls." + hold) });
    hb.onclick = function () {
      api("POST", "/api/v1/calls/" + encodeURIComponent(c.id) + "/" + hold).then(function (x) { S.calls[x.id] = x; renderCalls(); }).catch(fail);
    };
    box.appendChild(target); box.appendChild(go); box.appendChild(hb);
    recordingControls(c, box);
    if (isSup()) monitorControls(c, box);
    return box;
  }
  function callPath(c, what) { return "/api/v1/calls/" + encodeURIComponent(c.id) + "/" + what; }
  // recordingControls: Record while off, Pause while recording, Resume while paused.
  function recordingControls(c, box) {
    var st = c.recording || "off";
    var act = { off: "start", recording: "pause", paused: "resume" }[st];
    var b = el("button", { "data-action": "record-" + act, text: t("rec." + act) });
    b.onclick = function () {
      b.disabled = true;
      api("POST", callPath(c, "recording"), { action: act }).then(function (r) {
        if (r.call && r.call.id) S.calls[r.call.id] = r.call;
        renderCalls();
      }).catch(fail).then(function () { b.disabled = false; });
    };
    box.appendChild(b);
  }
  // monitorControls: Listen / Whisper / Barge (with a supervisor picker when several are
  // configured) on a call nobody monitors; the other modes and Stop on one that is monitored.
  function monitorControls(c, box) {
    var set = function (x) { if (x && x.id) S.calls[x.id] = x; renderCalls(); };
    var m = c.monitor;
    if (m) {
      ["listen", "whisper", "barge"].forEach(function (mode) {
        if (mode === m.mode) return;
        box.appendChild(el("button", { "data-action": "monitor-" + mode, text: t("mon." + mode), onclick: function () {
          api("PATCH", callPath(c, "monitor"), { mode: mode }).then(set).catch(fail);
        } }));
      });
      box.appendChild(el("button", { "data-action": "monitor-stop", class: "danger", text: t("mon.stop"), onclick: function () {
        api("DELETE", callPath(c, "monitor")).then(set).catch(fail);
      } }));
      return;
    }
    var sups = (S.me && S.me.supervisors) || [];
    var pick = null;
    if (sups.length > 1) {
      pick = el("select", { class: "monitor-supervisor", "aria-label": t("mon.supervisor") }, sups.map(function (id) { return el("option", { value: id, text: id }); }));
      if (S.supervisor && sups.indexOf(S.supervisor) >= 0) pick.value = S.supervisor;
      pick.onchange = function () { S.supervisor = pick.value; };
      box.appendChild(pick);
    }
    ["listen", "whisper", "barge"].forEach(function (mode) {
      var b = el("button", { "data-action": mode, text: t("mon." + mode) });
      b.onclick = function () {
        var body = { mode: mode };
        if (pick) body.supervisor = S.supervisor = pick.value;
        box.querySelectorAll("button").forEach(function (x) { x.disabled = true; });
        toast(t("mon.ringing", { supervisor: body.supervisor || sups[0] || "" }));
        api("POST", callPath(c, "monitor"), body).then(set).catch(function (e) { fail(e); renderCalls(); });
      };
      box.appendChild(b);
    });
  }
  // callState is a live call's state as its row shows it: talking · on hold · ● recording · listen 9001.
  function callState(c) {
    var txt = t("callstate." + c.state) + (c.position ? " #" + c.position : "") + (c.on_hold ? " · " + t("callstate.onhold") : "");
    var span = el("span", { class: "call-state", text: txt });
    if (c.recording && c.recording !== "off") span.appendChild(el("span", { class: "rec-state " + c.recording, "data-rec": c.recording, text: " · " + t("rec.state." + c.recording) }));
    if (c.monitor) span.appendChild(el("span", { class: "monitor-state", "data-mode": c.monitor.mode, text: " · " + t("mon.state", { mode: t("mon." + c.monitor.mode), supervisor: c.monitor.supervisor }) }));
    return span;
  }
  function renderCalls() {
    var tb = clear($("#calls-table tbody"));
    var list = Object.keys(S.calls).map(function (k) { return S.calls[k]; }).sort(function (a, b) { return Date.parse(a.started) - Date.parse(b.started); });
    if (!list.length) { emptyRow(tb, 9, "calls.none"); return; }
    list.forEach(function (c) {
      var tr = row([c.caller_name ? c.caller_name + " " + c.caller : c.caller, c.dialed,
        callState(c),
        c.queue || "", c.agent || "", audioCell(c.audio), el("span", { class: "time", "data-since": c.since, text: dur(since(c.since)) }), c.node || "",
        callActions(c)],
        { "data-call": c.id, "data-state": c.state });
      tr.children[5].classList.add("audio-cell");
      tb.appendChild(tr);
    });
  }
  // refreshCalls re-reads the calls (for their audio figures) while the calls view is shown.
  function refreshCalls() {
    if (S.view !== "calls" || !isSup()) return;
    var asked = Object.assign({}, S.calls); // calls that began after the request are not in its answer
    api("GET", "/api/v1/calls?limit=500").then(function (l) {
      if (S.view !== "calls") return;
      // The event stream stays authoritative for a call's state: a known call only takes the
      // fresh audio figures, and a call whose end was already announced does not come back.
      var seen = {};
      l.items.forEach(function (c) {
        seen[c.id] = true;
        if (S.endedCalls[c.id]) return;
        if (S.calls[c.id]) S.calls[c.id].audio = c.audio; else S.calls[c.id] = c;
      });
      if (!l.next_cursor) Object.keys(asked).forEach(function (id) { if (!seen[id]) delete S.calls[id]; });
      S.endedCalls = {};
      renderCalls();
    }).catch(fail);
  }
  function showCalls() {
    renderCalls();
    refreshCalls();
    if (!callsTimer) callsTimer = setInterval(refreshCalls, CALLS_REFRESH_MS);
  }

  function tick() {
    document.querySelectorAll("[data-since]").forEach(function (e) { e.textContent = dur(since(e.getAttribute("data-since"))); });
    if (S.view === "wallboard") {
      S.queueOrder.forEach(function (name) {
        var q = S.queues[name], v = document.querySelector('#queues .queue[data-queue="' + CSS.escape(name) + '"] .v.oldest');
        if (v && q.waiting > 0) v.textContent = dur(q.oldest_wait_seconds + Math.max(0, (now() - Date.parse(q.at)) / 1000));
      });
    }
  }

  // ---- live stream ----
  var es;
  function connect() {
    es = new EventSource("/api/v1/events");
    var conn = $("#conn");
    function state(s) { conn.dataset.state = s; conn.textContent = t("conn." + s); }
    es.addEventListener("open", function () { state("live"); });
    es.addEventListener("error", function () { state("down"); });
    es.addEventListener("snapshot", function (m) {
      var d = JSON.parse(m.data);
      S.offset = Date.parse(d.at) - Date.now();
      S.queues = {}; S.queueOrder = []; S.agents = {}; S.agentOrder = []; S.calls = {};
      d.queues.forEach(function (q) { S.queues[q.queue] = q; S.queueOrder.push(q.queue); });
      d.agents.forEach(function (a) { S.agents[a.id] = a; S.agentOrder.push(a.id); });
      d.calls.forEach(function (c) { S.calls[c.id] = c; });
      state("live");
      var first = !$("#chart-queue").options.length;
      fillQueueSelects();
      renderQueues(); renderAgents(); renderCalls();
      if (first && S.view === "wallboard") loadChart();
    });
    es.addEventListener("queue", function (m) {
      var d = JSON.parse(m.data);
      if (!S.queues[d.id]) S.queueOrder.push(d.id);
      S.queues[d.id] = d.queue;
      renderQueues();
    });
    es.addEventListener("agent", function (m) {
      var d = JSON.parse(m.data);
      if (!S.agents[d.id]) S.agentOrder.push(d.id);
      S.agents[d.id] = d.agent;
      if (S.view === "agents") renderAgents();
    });
    es.addEventListener("call", function (m) {
      var d = JSON.parse(m.data);
      if (d.ended) { delete S.calls[d.id]; S.endedCalls[d.id] = true; } else S.calls[d.id] = d.call;
      if (S.view === "calls") renderCalls();
    });
  }

  function fillQueueSelects() {
    [["#chart-queue", false], ["#report-queue", true]].forEach(function (p) {
      var s = $(p[0]), cur = s.value;
      clear(s);
      if (p[1]) s.appendChild(el("option", { value: "", text: t("rep.all") }));
      S.queueOrder.forEach(function (q) { s.appendChild(el("option", { value: q, text: q })); });
      if (cur) s.value = cur;
    });
  }

  // ---- chart: samples (service level, waiting) and today's 15-minute report ----
  function localDate(d) { return d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0"); }
  function tz() { try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return ""; } }
  function loadChart() {
    var q = $("#chart-queue").value || S.queueOrder[0];
    if (!q || !isSup()) return;
    var today = new Date(now()); today.setHours(0, 0, 0, 0);
    var rep = "/api/v1/reports?interval=15m&limit=500&queue=" + encodeURIComponent(q) + "&from=" + localDate(today) + (tz() ? "&tz=" + encodeURIComponent(tz()) : "");
    Promise.all([api("GET", "/api/v1/samples?limit=500&queue=" + encodeURIComponent(q) + "&since=" + encodeURIComponent(today.toISOString())), api("GET", rep)])
      .then(function (r) { drawChart(today.getTime(), r[0].items, r[1].items.filter(function (x) { return x.interval !== "total"; })); })
      .catch(fail);
  }
  function drawChart(day0, samples, quarters) {
    var c = $("#chart"), g = c.getContext("2d"), W = c.width, H = c.height, L = 44, R = 40, T = 12, B = 26;
    g.clearRect(0, 0, W, H);
    var x = function (ms) { return L + (ms - day0) / 864e5 * (W - L - R); };
    var ySL = function (v) { return T + (1 - v) * (H - T - B); };
    var maxWait = Math.max(4, Math.max.apply(null, samples.map(function (s) { return s.waiting; }).concat([0])));
    var yW = function (v) { return T + (1 - v / maxWait) * (H - T - B); };
    g.strokeStyle = "#e5e7eb"; g.fillStyle = "#6b7280"; g.font = "11px sans-serif"; g.lineWidth = 1;
    for (var h = 0; h <= 24; h += 3) { var xx = x(day0 + h * 36e5); g.beginPath(); g.moveTo(xx, T); g.lineTo(xx, H - B); g.stroke(); g.fillText(String(h).padStart(2, "0") + ":00", xx - 14, H - 8); }
    [0, 0.5, 0.8, 1].forEach(function (v) { var yy = ySL(v); g.beginPath(); g.moveTo(L, yy); g.lineTo(W - R, yy); g.stroke(); g.fillText(Math.round(v * 100) + "%", 6, yy + 4); });
    g.fillText(String(maxWait), W - R + 6, T + 8); g.fillText("0", W - R + 6, H - B);
    g.fillStyle = "#86efac";
    quarters.forEach(function (r) { if (r.service_level == null) return; var x0 = x(Date.parse(r.start)), x1 = x(Date.parse(r.end)); g.fillRect(x0, ySL(r.service_level), Math.max(1, x1 - x0 - 1), H - B - ySL(r.service_level)); });
    function line(color, pts) { g.strokeStyle = color; g.lineWidth = 2; g.beginPath(); var on = false; pts.forEach(function (p) { if (p == null) { on = false; return; } if (on) g.lineTo(p[0], p[1]); else g.moveTo(p[0], p[1]); on = true; }); g.stroke(); }
    line("#15803d", samples.map(function (s) { return s.service_level == null ? null : [x(Date.parse(s.at)), ySL(s.service_level)]; }));
    line("#1d4ed8", samples.map(function (s) { return [x(Date.parse(s.at)), yW(s.waiting)]; }));
  }

  // ---- callbacks and missed ----
  function loadCallbacks() {
    api("GET", "/api/v1/callbacks?status=pending,dialing&limit=200").then(function (l) {
      var tb = clear($("#callbacks-table tbody"));
      if (!l.items.length) { emptyRow(tb, 7, "cb.none"); return; }
      l.items.sort(function (a, b) { return Date.parse(a.arrived_at) - Date.parse(b.arrived_at); }).forEach(function (c) {
        var slot = el("input", { type: "datetime-local", class: "slot", "aria-label": t("cb.slot") });
        var acts = el("span", null, [slot,
          el("button", { "data-action": "reschedule", text: t("cb.reschedule"), onclick: function () {
            if (!slot.value) { slot.focus(); return; }
            api("POST", "/api/v1/callbacks/" + c.id + "/reschedule", { slot: new Date(slot.value).toISOString() }).then(function () { toast(t("done")); loadCallbacks(); }).catch(fail);
          } }),
          el("button", { "data-action": "cancel", class: "danger", text: t("cb.cancel"), onclick: function () {
            api("POST", "/api/v1/callbacks/" + c.id + "/cancel", { reason: "dashboard" }).then(function () { toast(t("done")); loadCallbacks(); }).catch(fail);
          } })]);
        tb.appendChild(row([c.number, c.queue, c.status, when(c.arrived_at), when(c.next_attempt_at), c.attempts + "/" + c.max_attempts, acts], { "data-callback": c.id }));
      });
    }).catch(fail);
  }
  function worklistURL() {
    var p = "/api/v1/worklist?limit=200";
    if ($("#wl-state").value) p += "&state=" + $("#wl-state").value;
    if ($("#wl-owner").value.trim()) p += "&owner=" + encodeURIComponent($("#wl-owner").value.trim());
    if ($("#wl-queue").value.trim()) p += "&queue=" + encodeURIComponent($("#wl-queue").value.trim());
    if ($("#wl-overdue").checked) p += "&overdue=true";
    return p;
  }
  function workAction(it, action, body) {
    api("POST", "/api/v1/worklist/" + it.id + "/" + action, body).then(function () { toast(t("done")); loadMissed(); }).catch(fail);
  }
  function loadMissed() {
    if (!isSup()) return;
    api("GET", worklistURL()).then(function (l) {
      var tb = clear($("#worklist-table tbody"));
      if (!l.items.length) { emptyRow(tb, 8, "wl.none"); return; }
      l.items.forEach(function (it) {
        var acts = el("span");
        if (it.state !== "done") {
          acts.appendChild(el("button", { "data-action": "take", text: t("wl.take"), onclick: function () { workAction(it, "take"); } }));
          if (it.state === "taken") acts.appendChild(el("button", { "data-action": "release", text: t("wl.release"), onclick: function () { workAction(it, "release"); } }));
          var how = el("select", { "aria-label": t("wl.how") }, ["called_back", "ticket", "no_action"].map(function (h) { return el("option", { value: h, text: t("wl.how." + h) }); }));
          acts.appendChild(how);
          acts.appendChild(el("button", { "data-action": "close", text: t("wl.close"), onclick: function () { workAction(it, "close", { how: how.value }); } }));
        } else {
          acts.appendChild(document.createTextNode(t("wl.how." + it.done_how) + " · " + it.done_by + " "));
        }
        acts.appendChild(el("button", { text: t("missed.timeline"), onclick: function () { openCustomer(it.customer_id); } }));
        var due = when(it.due_at) + (it.overdue ? " · " + t("wl.overdue") : "");
        var tr = row([when(it.created_at), it.address || t("cust.anonymous"), it.queue, t("outcome." + it.reason), t("wl." + it.state), it.owner || "–", due, acts],
          { "data-work": it.id, "data-state": it.state });
        if (it.overdue) tr.classList.add("overdue");
        tb.appendChild(tr);
      });
    }).catch(fail);
    api("GET", "/api/v1/callbacks?status=failed&limit=100").then(function (l) {
      var tb = clear($("#failed-table tbody"));
      l.items.forEach(function (c) {
        tb.appendChild(row([when(c.updated_at), c.number, c.queue, String(c.attempts), t("outcome." + c.last_result),
          el("button", { text: t("missed.timeline"), onclick: function () { openCustomer(c.customer_id); } })], { "data-callback": c.id }));
      });
    }).catch(fail);
  }

  // ---- tickets ----
  function loadTickets() {
    var st = $("#ticket-status").value;
    api("GET", "/api/v1/tickets?limit=200" + (st ? "&status=" + st : "")).then(function (l) {
      var tb = clear($("#tickets-table tbody"));
      if (!l.items.length) emptyRow(tb, 7, "tickets.none");
      l.items.forEach(function (k) {
        var tr = row([k.number, k.subject, t("kind." + k.kind), t("status." + k.status), t("priority." + k.priority), k.assignee || t("tickets.unassigned"), when(k.created_at)],
          { "data-ticket": k.number, class: "clickable" + (S.ticket && S.ticket.id === k.id ? " selected" : "") });
        tr.addEventListener("click", function () { openTicket(k.id); });
        tb.appendChild(tr);
      });
    }).catch(fail);
  }
  function openTicket(id) {
    api("GET", "/api/v1/tickets/" + encodeURIComponent(id)).then(function (k) {
      S.ticket = k;
      $("#ticket-detail").hidden = false;
      $("#ticket-title").textContent = k.number + " — " + k.subject;
      $("#ticket-detail").dataset.ticket = k.number;
      var vm = $("#ticket-voicemail"), audio = $("#ticket-audio");
      if (k.recording && k.recording.url) {
        vm.hidden = false;
        if (audio.getAttribute("src") !== k.recording.url) audio.src = k.recording.url;
      } else { vm.hidden = true; audio.removeAttribute("src"); }
      $("#ticket-set-status").value = k.status;
      var as = clear($("#ticket-set-assignee"));
      as.appendChild(el("option", { value: "", text: t("tickets.unassigned") }));
      S.agentOrder.forEach(function (a) { as.appendChild(el("option", { value: a, text: (S.agents[a].name || a) + " (" + a + ")" })); });
      if (k.assignee && !S.agents[k.assignee]) as.appendChild(el("option", { value: k.assignee, text: k.assignee }));
      as.value = k.assignee || "";
      as.disabled = !isSup();
      var notes = clear($("#ticket-notes"));
      (k.notes || []).forEach(function (n) { notes.appendChild(el("li", null, [el("div", { class: "meta", text: n.author + " · " + when(n.created_at) }), el("div", { text: n.body })])); });
      $("#ticket-customer").hidden = !k.customer_id;
      document.querySelectorAll("#tickets-table tr").forEach(function (tr) { tr.classList.toggle("selected", tr.dataset.ticket === k.number); });
    }).catch(fail);
  }

  // ---- customer and timeline ----
  function openCustomer(id) {
    show("customer");
    api("GET", "/api/v1/customers/" + encodeURIComponent(id)).then(renderCustomer).catch(fail);
  }
  function renderCustomer(c) {
    S.customer = c;
    var card = clear($("#customer-card"));
    card.hidden = false;
    card.dataset.customer = c.id;
    card.appendChild(el("h2", { text: (c.name || (c.anonymous ? t("cust.anonymous") : c.id)) + (c.vip ? " · " + t("cust.vip") : "") }));
    if (c.erased_at) card.appendChild(el("div", { class: "erased", text: t("cust.erased", { at: when(c.erased_at) }) }));
    // Identities, each with a remove button for supervisors; then the forms to add one, edit
    // the details, merge another customer in, export and erase.
    var ids = el("ul", { class: "identities" });
    c.identities.forEach(function (i) {
      var li = el("li", { "data-identity": i.kind + ":" + i.value }, [i.kind + " " + i.value]);
      if (isSup() && !c.erased_at) li.appendChild(el("button", { class: "remove-identity", text: t("cust.remove"), onclick: function () {
        api("DELETE", "/api/v1/customers/" + encodeURIComponent(c.id) + "/identities/" + encodeURIComponent(i.kind) + "/" + encodeURIComponent(i.value))
          .then(renderCustomer).catch(fail);
      } }));
      ids.appendChild(li);
    });
    card.appendChild(ids);
    if (isSup() && !c.erased_at) card.appendChild(customerControls(c));
    api("GET", "/api/v1/customers/" + encodeURIComponent(c.id) + "/timeline?limit=500").then(function (l) {
      var ol = clear($("#timeline"));
      l.items.slice().reverse().forEach(function (e) {
        var li = el("li", { class: e.kind, "data-entry": e.id }), meta = el("div", { class: "meta", text: when(e.at) }), body;
        if (e.contact) {
          var c2 = e.contact;
          if (c2.missed) li.classList.add("missed");
          body = el("div", { text: t("tl.contact", { channel: c2.channel, direction: t("dir." + c2.direction) }) + " · " + t("outcome." + c2.outcome) +
            (c2.queue ? " · " + c2.queue : "") + (c2.agent ? " · " + c2.agent : "") + (c2.wait_seconds ? " · " + t("missed.wait") + " " + dur(c2.wait_seconds) : "") +
            (c2.talk_seconds ? " · " + dur(c2.talk_seconds) : "") });
          (c2.events || []).filter(function (ev) { return ev.type === "summary"; }).forEach(function (ev) { body.appendChild(el("div", { class: "muted", text: ev.data && ev.data.text })); });
          // A transferred call is one contact with a part per agent: "1001 2:10 → transferred to queue billing · 2001 3:05".
          var parts = (c2.events || []).filter(function (ev) { return ev.step === "agent"; }).map(function (ev) {
            var p = ev.node + " " + dur((ev.duration_ms || 0) / 1000);
            if (ev.data && ev.data.hold_ms) p += " (" + t("tl.hold") + " " + dur(ev.data.hold_ms / 1000) + ")";
            return ev.exit && ev.exit !== "hangup" ? p + " → " + ev.exit : p;
          });
          if (parts.length > 1 || (parts.length && parts[0].indexOf("→") >= 0)) body.appendChild(el("div", { class: "muted agent-parts", text: parts.join(" · ") }));
        } else if (e.ticket) {
          body = el("div", { text: t("tl.ticket", { number: e.ticket.number, subject: e.ticket.subject }) + " · " + t("status." + e.ticket.status) });
        } else if (e.callback) {
          body = el("div", { text: t("tl.callback", { number: e.callback.number, status: e.callback.status }) });
        } else if (e.recording) {
          body = recordingEntry(e.recording);
        } else if (e.merge) {
          var moved = Object.keys(e.merge.moved).sort().map(function (k) { return k + " " + e.merge.moved[k]; }).join(", ");
          body = el("div", { text: t("tl.merge", { from: e.merge.merged_id, moved: moved || "—" }) });
        } else {
          body = el("div", { text: e.kind });
        }
        li.appendChild(meta); li.appendChild(body); ol.appendChild(li);
      });
    }).catch(fail);
  }

  // customerControls are a supervisor's forms on the customer card: add an identity, edit the
  // details, merge another customer into this one, export, erase.
  function customerControls(c) {
    var base = "/api/v1/customers/" + encodeURIComponent(c.id);
    var kind = el("select", { id: "identity-kind" }, ["phone", "email", "account", "crm", "chat"].map(function (k) { return el("option", { value: k, text: t("ident." + k) }); }));
    var value = el("input", { id: "identity-value", required: "", placeholder: t("cust.identity") });
    var add = el("form", { id: "identity-add", class: "row", onsubmit: function (e) {
      e.preventDefault();
      api("POST", base + "/identities", { kind: kind.value, value: value.value }).then(renderCustomer).catch(fail);
    } }, [kind, value, el("button", { type: "submit", text: t("cust.add") })]);
    var name = el("input", { id: "customer-name", value: c.name || "", placeholder: t("cust.name") });
    var lang = el("input", { id: "customer-language", value: c.language || "", placeholder: t("cust.language"), size: "6" });
    var vip = el("input", { id: "customer-vip", type: "checkbox" });
    vip.checked = !!c.vip;
    var edit = el("form", { id: "customer-edit", class: "row", onsubmit: function (e) {
      e.preventDefault();
      api("PATCH", base, { name: name.value, language: lang.value, vip: vip.checked }).then(renderCustomer).catch(fail);
    } }, [name, lang, el("label", {}, [vip, t("cust.vip")]), el("button", { type: "submit", text: t("tickets.save") })]);
    var from = el("input", { id: "merge-from", required: "", placeholder: t("cust.mergefrom") });
    var merge = el("form", { id: "customer-merge", class: "row", onsubmit: function (e) {
      e.preventDefault();
      if (!confirm(t("cust.mergeconfirm", { from: from.value, into: c.id }))) return;
      api("POST", base + "/merge", { from: from.value.trim() }).then(function (r) { toast(t("cust.merged")); renderCustomer(r.customer); }).catch(fail);
    } }, [from, el("button", { type: "submit", text: t("cust.merge") })]);
    var exp = el("button", { id: "customer-export", text: t("cust.export"), onclick: function () {
      api("GET", base + "/export").then(function (x) {
        var a = el("a", { href: URL.createObjectURL(new Blob([JSON.stringify(x, null, 2)], { type: "application/json" })), download: "customer-" + c.id + ".json" });
        document.body.appendChild(a); a.click(); a.remove();
      }).catch(fail);
    } });
    var erase = el("button", { id: "customer-erase", class: "danger", text: t("cust.erase"), onclick: function () {
      if (!confirm(t("cust.eraseconfirm", { id: c.id }))) return;
      api("DELETE", base).then(function (r) { toast(t("cust.erasedok")); renderCustomer(r); }).catch(fail);
    } });
    return el("div", { class: "customer-controls" }, [add, edit, merge, el("div", { class: "row" }, [exp, erase])]);
  }

  // recordingEntry is a conversation recording on the timeline: what it holds, the spans it
  // was paused, whether audio is missing, and for supervisors a player and a download link.
  function offset(ms) { return dur(ms / 1000) + (ms % 1000 ? "." + Math.floor(ms % 1000 / 100) : ""); } // 0:01.5
  function recordingEntry(r) {
    var info = [t("tl.recording"), dur(r.duration_seconds)];
    if (r.queue) info.push(r.queue);
    if (r.agents && r.agents.length) info.push(r.agents.join(", "));
    var body = el("div", { class: "recording", "data-recording": r.id }, [el("div", { text: info.join(" · ") })]);
    if (r.incomplete) body.appendChild(el("div", { class: "incomplete", text: t("tl.incomplete") }));
    if (r.paused && r.paused.length) {
      body.appendChild(el("div", { class: "muted paused-spans", text: t("tl.paused") + " " + r.paused.map(function (p) {
        return offset(p.start_ms) + "–" + offset(p.end_ms);
      }).join(", ") }));
    }
    if (r.deleted_at) {
      body.appendChild(el("div", { class: "muted", text: t("tl.deleted", { why: r.deleted_why }) }));
    } else if (r.url && isSup()) {
      body.appendChild(el("audio", { class: "call-audio", controls: "", preload: "none", src: r.url }));
      body.appendChild(el("a", { class: "download", href: r.download_url, download: r.id + ".wav", text: t("tl.download") }));
    }
    return body;
  }

  // ---- flows ----
  function loadFlows() {
    api("GET", "/api/v1/flows?limit=500").then(function (l) {
      var s = $("#flow-name"), cur = s.value;
      clear(s);
      l.items.forEach(function (f) { s.appendChild(el("option", { value: f.graph_url, text: f.name })); });
      if (cur) s.value = cur;
      if (s.value) $("#flow-graph").src = s.value;
    }).catch(fail);
  }

  // ---- reports ----
  var reportCols = ["queue", "start", "offered", "answered", "abandoned", "short_abandoned", "service_level", "asa_seconds", "aht_seconds",
    "abandon_rate", "callbacks_booked", "callbacks_completed", "voicemails", "repeat_contact_rate", "csat", "csat_answers", "nps", "nps_answers"];
  function initReports() { if (!$("#report-from").value) $("#report-from").value = localDate(new Date(now())); }
  function reportURL(fmt) {
    var p = "/api/v1/reports?limit=500&interval=" + $("#report-interval").value + "&from=" + $("#report-from").value;
    if ($("#report-to").value) p += "&to=" + $("#report-to").value;
    if ($("#report-queue").value) p += "&queue=" + encodeURIComponent($("#report-queue").value);
    if (tz()) p += "&tz=" + encodeURIComponent(tz());
    return p + (fmt ? "&format=" + fmt : "");
  }
  function runReport() {
    $("#report-csv").href = reportURL("csv");
    api("GET", reportURL()).then(function (r) {
      var th = clear($("#report-table thead")), tb = clear($("#report-table tbody"));
      th.appendChild(el("tr", null, reportCols.map(function (c) { return el("th", { text: c }); })));
      r.items.forEach(function (x) {
        tb.appendChild(row(reportCols.map(function (c) {
          var v = x[c];
          if (c === "start") return x.interval === "total" ? "total" : when(v);
          if (/rate|service_level/.test(c) || c === "csat") return pct(v);
          if (c === "nps") return v == null ? "–" : v.toFixed(0);
          if (/seconds/.test(c)) return v == null ? "–" : v.toFixed(1);
          return v;
        }), { "data-interval": x.interval, "data-queue": x.queue }));
      });
      var sb = clear($("#sat-table tbody"));
      (r.satisfaction || []).forEach(function (a) {
        sb.appendChild(row([a.queue, a.agent, pct(a.csat), a.csat_answers, a.nps == null ? "–" : a.nps.toFixed(0), a.nps_answers], { "data-agent": a.agent }));
      });
    }).catch(fail);
  }

  // ---- staffing ----
  function runStaffing() {
    var p = "/api/v1/staffing?calls_per_hour=" + encodeURIComponent($("#st-calls").value) + "&aht=" + encodeURIComponent($("#st-aht").value) +
      "&target=" + encodeURIComponent($("#st-target").value) + "&shrinkage=" + encodeURIComponent($("#st-shrink").value || "0");
    api("GET", p).then(function (r) {
      $("#st-answer").textContent = t("st.answer", { agents: r.agents, scheduled: r.scheduled_agents, sl: pct(r.service_level),
        asa: r.asa_seconds == null ? "–" : r.asa_seconds.toFixed(1) + " s", occ: pct(r.occupancy), erl: r.traffic_erlangs.toFixed(2) });
      var tb = clear($("#st-table tbody"));
      r.table.forEach(function (f) {
        tb.appendChild(row([String(f.agents), pct(f.probability_wait), pct(f.service_level), f.asa_seconds == null ? "–" : f.asa_seconds.toFixed(1) + " s", pct(f.occupancy)],
          { class: f.agents === r.agents ? "selected" : "" }));
      });
    }).catch(fail);
  }

  // ---- audit trail ----
  function auditURL(cursor) {
    var q = ["limit=100"];
    [["actor", "#audit-actor"], ["action", "#audit-action"], ["object", "#audit-object"], ["from", "#audit-from"]].forEach(function (f) {
      var v = $(f[1]).value.trim();
      if (v) q.push(f[0] + "=" + encodeURIComponent(v));
    });
    // Dates are whole days in the browser's time zone: since its midnight, until the next.
    var since = $("#audit-since").value, until = $("#audit-until").value;
    if (since) q.push("since=" + encodeURIComponent(new Date(since + "T00:00:00").toISOString()));
    if (until) { var u = new Date(until + "T00:00:00"); u.setDate(u.getDate() + 1); q.push("until=" + encodeURIComponent(u.toISOString())); }
    if (cursor) q.push("cursor=" + encodeURIComponent(cursor));
    return "/api/v1/audit?" + q.join("&");
  }
  function loadAudit(more) {
    var cursor = more === true ? S.auditNext : "";
    api("GET", auditURL(cursor)).then(function (l) {
      var tb = $("#audit-table tbody");
      if (!cursor) clear(tb);
      l.items.forEach(function (a) {
        var d = Object.keys(a.detail || {}).sort().map(function (k) {
          var v = a.detail[k];
          return k + "=" + (typeof v === "object" ? JSON.stringify(v) : String(v));
        }).join(" ");
        tb.appendChild(row([when(a.at), a.actor, a.role, a.action, a.object, a.from || "–", d], { "data-audit": a.id, "data-action": a.action }));
      });
      S.auditNext = l.next_cursor || "";
      $("#audit-more").hidden = !S.auditNext;
    }).catch(fail);
  }

  // ---- start ----
  function wire() {
    document.querySelectorAll("select.lang").forEach(function (s) {
      s.addEventListener("change", function () {
        i18n.set(s.value);
        $("#conn").textContent = t("conn." + $("#conn").dataset.state);
        renderQueues(); renderAgents(); renderCalls(); if (S.view !== "wallboard") show(S.view); });
    });
    document.querySelectorAll("#nav button").forEach(function (b) { b.addEventListener("click", function () { show(b.dataset.view); }); });
    $("#logout").addEventListener("click", function () {
      api("POST", "/logout").then(function () { location.href = "/"; }).catch(function () { location.href = "/"; });
    });
    $("#token-dismiss").addEventListener("click", function () { $("#token-banner").hidden = true; $("#new-token").textContent = ""; });
    $("#chart-queue").addEventListener("change", loadChart);
    $("#ticket-status").addEventListener("change", loadTickets);
    $("#play-voicemail").addEventListener("click", function () { var a = $("#ticket-audio"); a.currentTime = 0; a.play().catch(fail); });
    $("#ticket-save").addEventListener("click", function () {
      var k = S.ticket, body = {};
      if ($("#ticket-set-status").value !== k.status) body.status = $("#ticket-set-status").value;
      if (isSup() && $("#ticket-set-assignee").value !== (k.assignee || "")) body.assignee = $("#ticket-set-assignee").value;
      if (!Object.keys(body).length) return;
      api("PATCH", "/api/v1/tickets/" + k.id, body).then(function () { toast(t("done")); openTicket(k.id); loadTickets(); }).catch(fail);
    });
    $("#ticket-add-note").addEventListener("click", function () {
      var txt = $("#ticket-note").value.trim();
      if (!txt) return;
      api("POST", "/api/v1/tickets/" + S.ticket.id + "/notes", { body: txt }).then(function () { $("#ticket-note").value = ""; openTicket(S.ticket.id); }).catch(fail);
    });
    $("#ticket-customer").addEventListener("click", function () { if (S.ticket && S.ticket.customer_id) openCustomer(S.ticket.customer_id); });
    $("#customer-search").addEventListener("submit", function (e) {
      e.preventDefault();
      api("GET", "/api/v1/customers?" + $("#customer-by").value + "=" + encodeURIComponent($("#customer-q").value)).then(function (l) {
        if (!l.items.length) { $("#customer-card").hidden = true; clear($("#timeline")); toast(t("cust.notfound")); return; }
        renderCustomer(l.items[0]);
      }).catch(fail);
    });
    $("#flow-name").addEventListener("change", function () { $("#flow-graph").src = $("#flow-name").value; });
    $("#report-form").addEventListener("submit", function (e) { e.preventDefault(); runReport(); });
    ["#wl-state", "#wl-owner", "#wl-queue", "#wl-overdue"].forEach(function (id) { $(id).addEventListener("change", loadMissed); });
    $("#staffing-form").addEventListener("submit", function (e) { e.preventDefault(); runStaffing(); });
    $("#audit-form").addEventListener("submit", function (e) { e.preventDefault(); loadAudit(); });
    $("#audit-more").addEventListener("click", function () { loadAudit(true); });
  }

  function start() {
    $("#conn").textContent = t("conn.connecting");
    loaders = { wallboard: loadChart, callbacks: loadCallbacks, missed: loadMissed, tickets: loadTickets, flows: loadFlows,
      reports: initReports, agents: renderAgents, calls: showCalls, audit: loadAudit };
    i18n.apply();
    wire();
    api("GET", "/api/v1/me").then(function (me) {
      if (me.role === "agent" && !location.hash) { location.replace("/agent"); return; } // the agent desktop
      S.me = me;
      $("#app").hidden = false;
      $("#whoami").textContent = me.role + (me.agent ? " " + me.agent : "") +
        (me.node ? " · " + t("site.node", { node: me.node, nodes: (me.nodes || []).length || 1 }) : "");
      if (me.node) { $("#calls-site").textContent = t("site.calls", { node: me.node }); $("#calls-site").hidden = false; }
      if (me.new_token) { $("#new-token").textContent = me.new_token; $("#token-banner").hidden = false; }
      if (!isSup()) document.querySelectorAll("#nav button").forEach(function (b) {
        b.hidden = ["agents", "callbacks", "tickets"].indexOf(b.dataset.view) < 0;
      });
      connect();
      setInterval(tick, 1000);
      setInterval(function () { if (S.view === "wallboard") loadChart(); }, 60000);
      var v = location.hash.slice(1);
      show(document.getElementById("view-" + v) ? v : (isSup() ? "wallboard" : "agents"));
      document.body.dataset.ready = "true";
    }).catch(function (e) {
      if (e.status !== 401) { fail(e); }
      $("#login").hidden = false;
      $("#login-failed").hidden = location.hash !== "#login-failed";
      document.body.dataset.ready = "login";
    });
  }
  start();
})();
