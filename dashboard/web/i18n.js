// English and Chinese text of the dashboard. t(key, {name: value}) fills {name}.
"use strict";
window.I18N = {
  en: {
    "login.failed": "That login link has expired or was used already, or the token is wrong.",
    "login.token": "API token", "login.submit": "Log in",
    "login.hint": "Use the login link printed when hotline first started, or a token from `hotline token create`.",
    "nav.wallboard": "Wallboard", "nav.agents": "Agents", "nav.calls": "Live calls", "nav.callbacks": "Callbacks",
    "nav.missed": "Missed", "nav.tickets": "Tickets", "nav.customer": "Customer", "nav.flows": "Flows",
    "nav.reports": "Reports", "nav.staffing": "Staffing", "nav.logout": "Log out",
    "conn.connecting": "connecting", "conn.live": "live", "conn.down": "reconnecting",
    "token.banner": "Your supervisor API token, shown only this once. Keep it to log in again and for API clients:",
    "token.dismiss": "I have saved it",
    "wall.window": "Service level and abandon rate over the last 15 minutes (as hotline_queue_service_level_ratio{window=\"15m0s\"} in /metrics).",
    "wall.chart": "Service level and calls waiting today", "wall.queue": "Queue", "wall.sl": "service level",
    "wall.slq": "service level per 15 min (report)", "wall.waiting": "waiting", "wall.oldest": "oldest wait",
    "wall.servicelevel": "service level", "wall.abandon": "abandon rate", "wall.callbacks": "callbacks waiting",
    "wall.none": "no queues", "wall.target": "target {t}s",
    "agents.agent": "Agent", "agents.state": "State", "agents.time": "Time in state", "agents.reason": "Pause reason",
    "agents.handled": "Calls handled", "agents.queues": "Queues", "agents.actions": "Actions",
    "agents.pause": "Pause", "agents.unpause": "Unpause", "agents.logout": "Log out", "agents.login": "Log in",
    "reason.break": "break", "reason.lunch": "lunch", "reason.training": "training", "reason.meeting": "meeting", "reason.other": "other",
    "state.logged-out": "logged out", "state.available": "available", "state.reserved": "ringing", "state.on-call": "on call",
    "state.wrap-up": "wrap-up", "state.paused": "paused",
    "calls.caller": "Caller", "calls.dialed": "Dialed", "calls.state": "State", "calls.queue": "Queue", "calls.agent": "Agent",
    "calls.since": "For", "calls.node": "Flow node", "calls.none": "No calls in progress.",
    "calls.actions": "Actions", "calls.target": "agent, queue or number", "calls.transfer": "Transfer", "calls.hold": "Hold", "calls.resume": "Resume",
    "callstate.onhold": "on hold", "tl.hold": "hold",
    "calls.audio": "Audio", "audio.caller": "caller", "audio.agent": "agent",
    "audio.title": "packets lost · jitter of what hotline receives ({received} received, {lost} lost); poor above {loss} loss or {jitter} ms jitter",
    "audio.sep": ", ", "audio.hears": "hears {loss} · {jitter} ms", "audio.rtt": "RTT {rtt} ms",
    "audio.heard.title": "hears: what the other side reports (RTCP) of hotline's audio: loss in its last report · jitter; RTT: round trip; poor past the same thresholds",
    "callstate.ivr": "in the menu", "callstate.queued": "waiting", "callstate.ringing": "ringing", "callstate.connected": "talking",
    "cb.number": "Number", "cb.queue": "Queue", "cb.status": "Status", "cb.arrived": "Waiting since", "cb.next": "Next attempt",
    "cb.attempts": "Attempts", "cb.actions": "Actions", "cb.last": "Last result", "cb.cancel": "Cancel", "cb.reschedule": "Reschedule",
    "cb.slot": "New time (YYYY-MM-DD HH:MM)", "cb.none": "No callbacks waiting.",
    "missed.contacts": "Missed contacts (abandoned, timed out, no agent, after hours)", "missed.callbacks": "Failed callbacks",
    "missed.when": "When", "missed.caller": "Caller", "missed.queue": "Queue", "missed.outcome": "Outcome", "missed.wait": "Waited",
    "missed.timeline": "Timeline",
    "tickets.status": "Status", "tickets.active": "open and pending", "tickets.all": "all", "tickets.subject": "Subject",
    "tickets.kind": "Kind", "tickets.priority": "Priority", "tickets.assignee": "Assignee", "tickets.created": "Created",
    "tickets.play": "Play voicemail", "tickets.save": "Save", "tickets.timeline": "Customer timeline", "tickets.note": "Add a note",
    "tickets.addnote": "Add note", "tickets.unassigned": "(unassigned)", "tickets.none": "No tickets.",
    "status.open": "open", "status.pending": "pending", "status.solved": "solved",
    "priority.low": "low", "priority.normal": "normal", "priority.high": "high", "priority.urgent": "urgent",
    "kind.voicemail": "voicemail", "kind.callback_failed": "failed callback", "kind.missed": "missed", "kind.manual": "manual",
    "cust.number": "number", "cust.account": "account", "cust.email": "e-mail", "cust.name": "name", "cust.search": "Search",
    "cust.notfound": "No customer found.", "cust.anonymous": "withheld number", "cust.vip": "VIP",
    "outcome.answered": "answered", "outcome.abandoned": "abandoned", "outcome.short_abandoned": "hung up at once",
    "outcome.timeout": "timed out", "outcome.no_agent": "no agent", "outcome.after_hours": "after hours", "outcome.voicemail": "voicemail",
    "outcome.callback_requested": "callback requested", "outcome.callback_answered": "called back", "outcome.callback_no_answer": "callback: no answer",
    "outcome.callback_busy": "callback: busy", "outcome.callback_failed": "callback failed", "outcome.self_service": "self service",
    "outcome.transferred": "transferred", "outcome.": "in progress",
    "tl.contact": "{channel} {direction}", "tl.ticket": "Ticket {number}: {subject}", "tl.callback": "Callback to {number}: {status}",
    "dir.inbound": "in", "dir.outbound": "out",
    "flows.flow": "Flow",
    "rep.from": "From", "rep.to": "To", "rep.interval": "Interval", "rep.run": "Show", "rep.csv": "CSV", "rep.all": "all queues",
    "st.calls": "Calls per hour", "st.aht": "AHT", "st.target": "Target", "st.shrinkage": "Shrinkage", "st.run": "Calculate",
    "st.agents": "Agents", "st.pwait": "P(wait)", "st.sl": "Service level", "st.occ": "Occupancy",
    "st.answer": "{agents} agents on the phones ({scheduled} scheduled with shrinkage): service level {sl}, ASA {asa}, occupancy {occ}, {erl} erlangs.",
    "done": "Done.", "confirm.cancel": "Cancel this callback?"
  },
  zh: {
    "login.failed": "登录链接已过期或已使用，或令牌不正确。",
    "login.token": "API 令牌", "login.submit": "登录",
    "login.hint": "使用 hotline 首次启动时打印的登录链接，或 `hotline token create` 生成的令牌。",
    "nav.wallboard": "大屏", "nav.agents": "坐席", "nav.calls": "实时通话", "nav.callbacks": "回拨",
    "nav.missed": "未接", "nav.tickets": "工单", "nav.customer": "客户", "nav.flows": "流程",
    "nav.reports": "报表", "nav.staffing": "排班", "nav.logout": "退出",
    "conn.connecting": "连接中", "conn.live": "实时", "conn.down": "重新连接中",
    "token.banner": "您的主管 API 令牌，仅显示这一次。请保存，用于再次登录和 API 客户端：",
    "token.dismiss": "我已保存",
    "wall.window": "服务水平和放弃率为最近 15 分钟（与 /metrics 中 hotline_queue_service_level_ratio{window=\"15m0s\"} 相同）。",
    "wall.chart": "今日服务水平与排队数", "wall.queue": "队列", "wall.sl": "服务水平",
    "wall.slq": "每 15 分钟服务水平（报表）", "wall.waiting": "排队", "wall.oldest": "最长等待",
    "wall.servicelevel": "服务水平", "wall.abandon": "放弃率", "wall.callbacks": "等待回拨",
    "wall.none": "没有队列", "wall.target": "目标 {t} 秒",
    "agents.agent": "坐席", "agents.state": "状态", "agents.time": "状态时长", "agents.reason": "暂停原因",
    "agents.handled": "已处理", "agents.queues": "队列", "agents.actions": "操作",
    "agents.pause": "暂停", "agents.unpause": "恢复", "agents.logout": "签出", "agents.login": "签入",
    "reason.break": "休息", "reason.lunch": "午餐", "reason.training": "培训", "reason.meeting": "会议", "reason.other": "其他",
    "state.logged-out": "未签入", "state.available": "空闲", "state.reserved": "振铃中", "state.on-call": "通话中",
    "state.wrap-up": "话后处理", "state.paused": "暂停",
    "calls.caller": "主叫", "calls.dialed": "被叫", "calls.state": "状态", "calls.queue": "队列", "calls.agent": "坐席",
    "calls.since": "时长", "calls.node": "流程节点", "calls.none": "当前没有通话。",
    "calls.actions": "操作", "calls.target": "坐席、队列或号码", "calls.transfer": "转接", "calls.hold": "保持", "calls.resume": "恢复",
    "callstate.onhold": "保持中", "tl.hold": "保持",
    "calls.audio": "音质", "audio.caller": "主叫", "audio.agent": "坐席",
    "audio.title": "hotline 收到的语音丢包率 · 抖动（已收 {received} 个包，丢失 {lost} 个）；丢包超过 {loss} 或抖动超过 {jitter} 毫秒为差",
    "audio.sep": "，", "audio.hears": "对方收到 {loss} · {jitter} ms", "audio.rtt": "往返 {rtt} ms",
    "audio.heard.title": "对方收到：对方通过 RTCP 报告的 hotline 语音丢包率（最近一次报告）· 抖动；往返：往返时延；超过同样的阈值为差",
    "callstate.ivr": "语音菜单", "callstate.queued": "排队中", "callstate.ringing": "振铃中", "callstate.connected": "通话中",
    "cb.number": "号码", "cb.queue": "队列", "cb.status": "状态", "cb.arrived": "等待自", "cb.next": "下次尝试",
    "cb.attempts": "尝试次数", "cb.actions": "操作", "cb.last": "上次结果", "cb.cancel": "取消", "cb.reschedule": "改期",
    "cb.slot": "新时间（YYYY-MM-DD HH:MM）", "cb.none": "没有等待的回拨。",
    "missed.contacts": "未接来电（放弃、超时、无坐席、非工作时间）", "missed.callbacks": "失败的回拨",
    "missed.when": "时间", "missed.caller": "主叫", "missed.queue": "队列", "missed.outcome": "结果", "missed.wait": "等待",
    "missed.timeline": "时间线",
    "tickets.status": "状态", "tickets.active": "待处理和挂起", "tickets.all": "全部", "tickets.subject": "主题",
    "tickets.kind": "类型", "tickets.priority": "优先级", "tickets.assignee": "处理人", "tickets.created": "创建时间",
    "tickets.play": "播放留言", "tickets.save": "保存", "tickets.timeline": "客户时间线", "tickets.note": "添加备注",
    "tickets.addnote": "添加备注", "tickets.unassigned": "（未分配）", "tickets.none": "没有工单。",
    "status.open": "待处理", "status.pending": "挂起", "status.solved": "已解决",
    "priority.low": "低", "priority.normal": "普通", "priority.high": "高", "priority.urgent": "紧急",
    "kind.voicemail": "语音留言", "kind.callback_failed": "回拨失败", "kind.missed": "未接", "kind.manual": "手工",
    "cust.number": "号码", "cust.account": "账号", "cust.email": "邮箱", "cust.name": "姓名", "cust.search": "搜索",
    "cust.notfound": "未找到客户。", "cust.anonymous": "隐藏号码", "cust.vip": "VIP",
    "outcome.answered": "已接听", "outcome.abandoned": "已放弃", "outcome.short_abandoned": "立即挂断",
    "outcome.timeout": "超时", "outcome.no_agent": "无坐席", "outcome.after_hours": "非工作时间", "outcome.voicemail": "语音留言",
    "outcome.callback_requested": "请求回拨", "outcome.callback_answered": "已回拨", "outcome.callback_no_answer": "回拨：无人接听",
    "outcome.callback_busy": "回拨：忙", "outcome.callback_failed": "回拨失败", "outcome.self_service": "自助服务",
    "outcome.transferred": "已转接", "outcome.": "进行中",
    "tl.contact": "{channel} {direction}", "tl.ticket": "工单 {number}：{subject}", "tl.callback": "回拨 {number}：{status}",
    "dir.inbound": "呼入", "dir.outbound": "呼出",
    "flows.flow": "流程",
    "rep.from": "从", "rep.to": "到", "rep.interval": "间隔", "rep.run": "查看", "rep.csv": "CSV", "rep.all": "全部队列",
    "st.calls": "每小时来电", "st.aht": "平均处理时长", "st.target": "目标", "st.shrinkage": "缩减率", "st.run": "计算",
    "st.agents": "坐席数", "st.pwait": "等待概率", "st.sl": "服务水平", "st.occ": "占用率",
    "st.answer": "需要 {agents} 名在线坐席（计入缩减率排班 {scheduled} 名）：服务水平 {sl}，平均应答 {asa}，占用率 {occ}，话务量 {erl} 爱尔兰。",
    "done": "完成。", "confirm.cancel": "取消这个回拨？"
  }
};

window.i18n = (function () {
  var lang = localStorage.getItem("hotline.lang") ||
    ((navigator.language || "en").toLowerCase().indexOf("zh") === 0 ? "zh" : "en");
  function t(key, vars) {
    var s = (I18N[lang] && I18N[lang][key]);
    if (s === undefined) s = I18N.en[key];
    if (s === undefined) return key;
    if (vars) s = s.replace(/\{(\w+)\}/g, function (m, k) { return vars[k] === undefined ? m : String(vars[k]); });
    return s;
  }
  function apply(root) {
    root = root || document;
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    root.querySelectorAll("[data-i18n]").forEach(function (el) { el.textContent = t(el.getAttribute("data-i18n")); });
    root.querySelectorAll("[data-i18n-placeholder]").forEach(function (el) { el.placeholder = t(el.getAttribute("data-i18n-placeholder")); });
    document.querySelectorAll("select.lang").forEach(function (s) { s.value = lang; });
  }
  function set(l) { lang = l; localStorage.setItem("hotline.lang", l); apply(); }
  return { t: t, apply: apply, set: set, lang: function () { return lang; } };
})();
