package dashboard

import (
	"net/http"
)

// route is one API endpoint: its handler and what the OpenAPI document says of it.
type route struct {
	Method, Path string
	Summary      string
	Roles        []Role
	Public       bool           // no token needed
	Query        []param        // query parameters
	Body         any            // request body (a pointer to its type), if any
	Resp         any            // response body (a value of its type), if JSON
	Status       int            // success status (default 200)
	Produces     string         // success content type (default application/json)
	Desc         string         // more than the summary, for the OpenAPI description
	Errors       map[int]string // error statuses beyond the usual ones, and when they happen
	handle       func(w http.ResponseWriter, r *http.Request, p *principal) error
}

type param struct {
	Name, Type, Desc string
	Enum             []string
	Required         bool
}

var (
	all       = []Role{RoleSupervisor, RoleAgent, RoleIntegration}
	sup       = []Role{RoleSupervisor}
	supAgent  = []Role{RoleSupervisor, RoleAgent}
	supInteg  = []Role{RoleSupervisor, RoleIntegration}
	pageQuery = []param{
		{Name: "limit", Type: "integer", Desc: "items per page, 1 to 500 (default 50)"},
		{Name: "cursor", Type: "string", Desc: "next_cursor of the previous page"},
	}
	outcomeNames = []string{"answered", "abandoned", "short_abandoned", "timeout", "no_agent", "after_hours", "voicemail",
		"callback_requested", "callback_answered", "callback_no_answer", "callback_busy", "callback_failed", "completed_in_ivr", "abandoned_in_ivr",
		"self_service", "transferred", "interrupted"}
)

func withPage(ps ...param) []param { return append(ps, pageQuery...) }

func (s *Server) apiRoutes() []route {
	routes := []route{
		{Method: "GET", Path: "/api/v1/openapi.json", Summary: "This API, described in OpenAPI 3.1", Public: true, Resp: map[string]any{}, handle: s.handleOpenAPI},
		{Method: "GET", Path: "/api/v1/me", Summary: "Who the token or session is", Roles: all, Resp: Me{}, handle: s.handleMe},

		{Method: "GET", Path: "/api/v1/queues", Summary: "Queues with live statistics", Roles: sup, Query: withPage(), Resp: List[QueueView]{}, handle: s.handleQueues},
		{Method: "GET", Path: "/api/v1/queues/{name}", Summary: "One queue's live statistics", Roles: sup, Resp: QueueView{}, handle: s.handleQueue},
		{Method: "GET", Path: "/api/v1/agents", Summary: "Agents and their state (an agent token sees itself)", Roles: supAgent, Query: withPage(), Resp: List[AgentView]{}, handle: s.handleAgents},
		{Method: "GET", Path: "/api/v1/agents/{id}", Summary: "One agent's state", Roles: supAgent, Resp: AgentView{}, handle: s.handleAgent},
		{Method: "POST", Path: "/api/v1/agents/{id}/actions", Summary: "Log an agent in or out, pause it with a reason, unpause it", Roles: supAgent,
			Body: &AgentActionRequest{}, Resp: AgentView{}, handle: s.handleAgentAction},
		{Method: "GET", Path: "/api/v1/calls", Summary: "Calls in progress", Roles: sup, Query: withPage(), Resp: List[LiveCall]{}, handle: s.handleCalls},
		{Method: "POST", Path: "/api/v1/calls/{id}/transfer", Summary: "Transfer a connected call to an agent, a queue or a number (an agent token: its own call)", Roles: supAgent,
			Body: &TransferRequest{}, Resp: TransferResult{}, handle: s.handleTransfer},
		{Method: "POST", Path: "/api/v1/calls/{id}/hold", Summary: "Put a connected call's caller on hold (they hear the queue's music)", Roles: supAgent, Resp: LiveCall{}, handle: s.handleHold(true)},
		{Method: "POST", Path: "/api/v1/calls/{id}/conference", Summary: "Merge the caller, the agent and the colleague the agent consults into a three-way call", Roles: supAgent, Resp: LiveCall{}, handle: s.handleConference},
		{Method: "POST", Path: "/api/v1/calls/{id}/resume", Summary: "Take a held caller off hold", Roles: supAgent, Resp: LiveCall{}, handle: s.handleHold(false)},
		{Method: "POST", Path: "/api/v1/calls/{id}/monitor", Summary: "Monitor a connected call: ring the supervisor's phone and join it in listen, whisper or barge mode",
			Roles: sup, Body: &MonitorRequest{}, Resp: LiveCall{},
			Desc: "Returns once the supervisor's phone answered, with the call as it now is (its monitor set). " +
				"supervisor may be left out when exactly one supervisor is configured (GET /api/v1/me lists them). " +
				"One supervisor per call: a second monitor is refused with 409 monitored; stop the first session (DELETE) or change its mode (PATCH). " +
				"409 not_connected when the call is not (or no longer) talking to an agent; 409 supervisor_unreachable when the supervisor's phone is not registered, busy or did not answer.",
			Errors: map[int]string{422: "the supervisor is not a configured supervisor (field supervisor)"}, handle: s.handleMonitor},
		{Method: "PATCH", Path: "/api/v1/calls/{id}/monitor", Summary: "Change the mode of a call's monitoring session (listen, whisper, barge)", Roles: sup,
			Body: &MonitorPatch{}, Resp: LiveCall{}, Desc: "409 not_monitored when nobody monitors the call.", handle: s.handleMonitorMode},
		{Method: "DELETE", Path: "/api/v1/calls/{id}/monitor", Summary: "Stop monitoring a call: the supervisor's phone is hung up, caller and agent stay connected", Roles: sup,
			Resp: LiveCall{}, Desc: "409 not_monitored when nobody monitors the call.", handle: s.handleStopMonitor},
		{Method: "POST", Path: "/api/v1/calls/{id}/recording", Summary: "Start, stop, pause or resume a call's conversation recording (an agent token: its own call)", Roles: supAgent,
			Body: &RecordingRequest{}, Resp: RecordingResult{},
			Desc: "changed is false when the recording already was so (pausing a paused recording). 409 recording_policy when the queue's recording policy refuses it " +
				"(starting on a queue that never records, stopping where recording is required). Every request is audited (recording.start, .stop, .pause, .resume).",
			handle: s.handleRecordingAction},
		{Method: "GET", Path: "/api/v1/events", Summary: "Live changes of queues, agents and calls (Server-Sent Events: snapshot, queue, agent, call)",
			Roles: supAgent, Produces: "text/event-stream", Resp: StreamEvent{}, handle: s.handleEvents},
		{Method: "GET", Path: "/api/v1/samples", Summary: "Waiting calls and service level sampled over the last 24 hours (the wallboard chart)", Roles: sup,
			Query: withPage(param{Name: "queue", Type: "string", Desc: "one queue (default all)"}, param{Name: "since", Type: "date-time", Desc: "default 24 hours ago"}),
			Resp:  List[Sample]{}, handle: s.handleSamples},
		{Method: "GET", Path: "/api/v1/flows", Summary: "The loaded IVR flows, as Mermaid source", Roles: sup, Query: withPage(), Resp: List[FlowView]{}, handle: s.handleFlows},
		{Method: "GET", Path: "/api/v1/flows/{name}/graph.svg", Summary: "A flow drawn as a graph", Roles: sup, Produces: "image/svg+xml", handle: s.handleFlowGraph},

		{Method: "GET", Path: "/api/v1/customers", Summary: "Find customers by number, account, e-mail or name", Roles: sup,
			Query: withPage(param{Name: "number", Type: "string", Desc: "a phone number in any common form"}, param{Name: "account", Type: "string"},
				param{Name: "email", Type: "string"}, param{Name: "name", Type: "string", Desc: "part of the name"}),
			Resp: List[CustomerView]{}, handle: s.handleCustomers},
		{Method: "GET", Path: "/api/v1/customers/{id}", Summary: "One customer", Roles: supAgent, Resp: CustomerView{},
			Desc:   "A customer merged into another answers 301 with Location the survivor's URL and error.customer its ID (code merged).",
			Errors: map[int]string{301: "merged: the customer was merged into error.customer (Location)"}, handle: s.handleCustomer},
		{Method: "GET", Path: "/api/v1/customers/{id}/timeline", Summary: "Everything that happened with a customer, oldest first", Roles: supAgent,
			Query: withPage(), Resp: List[TimelineEntryView]{}, handle: s.handleTimeline},

		{Method: "GET", Path: "/api/v1/contacts", Summary: "Contacts, newest first (missed=true: the missed-contacts worklist; an agent token: its own)", Roles: all,
			Query: withPage(param{Name: "customer", Type: "string"}, param{Name: "queue", Type: "string"}, param{Name: "agent", Type: "string"},
				param{Name: "channel", Type: "string", Enum: []string{"voice", "chat", "email", "sms"}},
				param{Name: "outcome", Type: "string", Desc: "comma-separated outcomes: " + joinComma(outcomeNames)},
				param{Name: "missed", Type: "boolean", Desc: "only missed contacts: abandoned, timeout, no_agent, after_hours, abandoned_in_ivr (GET /api/v1/worklist has them as work items)"},
				param{Name: "from", Type: "date-time", Desc: "started at or after"}, param{Name: "to", Type: "date-time", Desc: "started before"}),
			Resp: List[ContactView]{}, handle: s.handleContacts},
		{Method: "POST", Path: "/api/v1/contacts", Summary: "Put a contact (a chat, an e-mail, a call elsewhere) on a customer's timeline", Roles: supInteg,
			Body: &NewContactRequest{}, Resp: ContactView{}, Status: http.StatusCreated, handle: s.handleAddContact},
		{Method: "GET", Path: "/api/v1/contacts/{id}", Summary: "One contact with its events", Roles: supInteg, Resp: ContactView{}, handle: s.handleContact},

		{Method: "GET", Path: "/api/v1/tickets", Summary: "Tickets, newest first (an agent token sees those assigned to it)", Roles: all,
			Query: withPage(param{Name: "status", Type: "string", Desc: "comma-separated: open, pending, solved"}, param{Name: "queue", Type: "string"},
				param{Name: "assignee", Type: "string"}, param{Name: "kind", Type: "string", Enum: []string{"voicemail", "callback_failed", "missed", "manual"}},
				param{Name: "customer", Type: "string"}, param{Name: "from", Type: "date-time"}, param{Name: "to", Type: "date-time"}),
			Resp: List[TicketView]{}, handle: s.handleTickets},
		{Method: "POST", Path: "/api/v1/tickets", Summary: "Open a ticket", Roles: supInteg, Body: &NewTicketRequest{}, Resp: TicketView{}, Status: http.StatusCreated, handle: s.handleCreateTicket},
		{Method: "GET", Path: "/api/v1/tickets/{id}", Summary: "One ticket (by ID or number) with its notes", Roles: all, Resp: TicketView{}, handle: s.handleTicket},
		{Method: "PATCH", Path: "/api/v1/tickets/{id}", Summary: "Change a ticket's status, assignee, priority or subject", Roles: all,
			Body: &TicketPatch{}, Resp: TicketView{}, handle: s.handleUpdateTicket},
		{Method: "POST", Path: "/api/v1/tickets/{id}/notes", Summary: "Add a note to a ticket", Roles: all, Body: &NoteRequest{}, Resp: NoteView{}, Status: http.StatusCreated, handle: s.handleAddNote},

		{Method: "GET", Path: "/api/v1/callbacks", Summary: "Callbacks, newest first (an agent token sees its queues')", Roles: supAgent,
			Query: withPage(param{Name: "status", Type: "string", Desc: "comma-separated: pending, dialing, completed, failed, cancelled"},
				param{Name: "queue", Type: "string"}, param{Name: "customer", Type: "string"}, param{Name: "from", Type: "date-time"}, param{Name: "to", Type: "date-time"}),
			Resp: List[CallbackView]{}, handle: s.handleCallbacks},
		{Method: "GET", Path: "/api/v1/callbacks/{id}", Summary: "One callback", Roles: supAgent, Resp: CallbackView{}, handle: s.handleCallback},
		{Method: "POST", Path: "/api/v1/callbacks/{id}/cancel", Summary: "Cancel a waiting callback", Roles: supAgent, Body: &CancelRequest{}, Resp: CallbackView{}, handle: s.handleCancelCallback},
		{Method: "POST", Path: "/api/v1/callbacks/{id}/reschedule", Summary: "Move a waiting callback to a slot inside the queue's opening hours", Roles: supAgent,
			Body: &RescheduleRequest{}, Resp: CallbackView{}, handle: s.handleRescheduleCallback},

		{Method: "GET", Path: "/api/v1/recordings", Summary: "Recordings (voicemails and conversations), newest first, with what is known of each", Roles: sup,
			Query: withPage(param{Name: "contact", Type: "string"}, param{Name: "customer", Type: "string"}, param{Name: "call", Type: "string", Desc: "the call ID"},
				param{Name: "kind", Type: "string", Enum: []string{"voicemail", "call"}}),
			Resp: List[RecordingView]{}, handle: s.handleRecordings},
		{Method: "GET", Path: "/api/v1/recordings/{id}", Summary: "Stream a recording (audio/wav; Range requests for seeking; download=1 to download it)", Roles: all, Produces: "audio/wav",
			Query: []param{{Name: "download", Type: "string", Enum: []string{"1"}, Desc: "1: Content-Disposition attachment (a download) instead of inline (a play)"}},
			Desc: "Conversation recordings (kind call) are for supervisors only: agent and integration tokens get 403. " +
				"Voicemails: supervisors, integrations, and agents for the voicemails of their tickets. " +
				"Each play and download is written to the audit trail (recording.play, recording.download; GET /api/v1/audit) before a byte is sent; " +
				"to keep a player's seeks from flooding it, only a GET without a Range header or whose range starts at byte 0 is audited: " +
				"HEAD requests and the ranges that continue a play are not. 410 when retention or an erasure deleted the file; " +
				"503 when the access cannot be audited (the recording is then not served).",
			Errors: map[int]string{410: "the recording's file was deleted (retention, erasure)"}, handle: s.handleRecording},
		{Method: "GET", Path: "/api/v1/audit", Summary: "The audit trail, newest first: what supervisors, integrations and operators did (recordings played, calls monitored, transferred and held, agents paused, tokens made, flows reloaded ...)", Roles: sup,
			Query: withPage(param{Name: "action", Type: "string", Desc: "an action (recording.play), or a prefix: recording or recording. for every recording action"},
				param{Name: "object", Type: "string", Desc: "a recording, call, agent, ticket or token ID"}, param{Name: "actor", Type: "string", Desc: "a token ID, os:<user> or system"},
				param{Name: "from", Type: "string", Desc: "where the action came from: a client IP address, cli, signal, phone, api or system (not a time)"},
				param{Name: "since", Type: "date-time", Desc: "at or after"}, param{Name: "until", Type: "date-time", Desc: "before"}),
			Desc: "Each entry has its place in a hash chain (seq, hash); `hotline audit verify` checks that none was altered, deleted or inserted. Agent and integration tokens get 403.",
			Resp: List[AuditView]{}, handle: s.handleAudit},

		{Method: "GET", Path: "/api/v1/reports", Summary: "Per-queue interval report from the stored contacts (JSON, or CSV with format=csv)", Roles: sup,
			Query: withPage(param{Name: "from", Type: "date-time", Required: true, Desc: "start (a date is midnight in tz)"},
				param{Name: "to", Type: "date-time", Desc: "end, exclusive (default: from + 1 day)"},
				param{Name: "interval", Type: "string", Enum: []string{"15m", "1h", "1d"}, Desc: "default 1h"},
				param{Name: "queue", Type: "string", Desc: "comma-separated queues (default all)"},
				param{Name: "tz", Type: "string", Desc: "IANA time zone of the intervals (default the server's)"},
				param{Name: "format", Type: "string", Enum: []string{"json", "csv"}}),
			Desc: "Each row carries the survey figures beside the repeat-contact rate: csat (share of 4-5 answers on the 1-5 scale, 0 to 1) and nps " +
				"(promoters 9-10 minus detractors 0-6 in % of the 0-10 answers, -100 to 100), null without answers; satisfaction breaks them down " +
				"by queue and agent over the range (docs/kpis.md).",
			Resp: ReportResponse{}, handle: s.handleReport},
		{Method: "GET", Path: "/api/v1/staffing", Summary: "Erlang C: agents needed for a call rate, handle time and target", Roles: sup,
			Query: []param{{Name: "calls_per_hour", Type: "number", Desc: "or calls with period"}, {Name: "calls", Type: "number"}, {Name: "period", Type: "string", Desc: "e.g. 30m"},
				{Name: "aht", Type: "string", Required: true, Desc: "average handle time, e.g. 4m or 180s"}, {Name: "target", Type: "string", Desc: "e.g. 80/20s (default)"},
				{Name: "shrinkage", Type: "string", Desc: "e.g. 30%"}, {Name: "max_occupancy", Type: "string", Desc: "e.g. 85%"}},
			Resp: StaffingView{}, handle: s.handleStaffing},
		{Method: "GET", Path: "/api/v1/staffing/history", Summary: "Erlang C per hour of the week from the last weeks' stored traffic", Roles: sup,
			Query: withPage(param{Name: "queue", Type: "string", Required: true}, param{Name: "weeks", Type: "integer", Desc: "1 to 52 (default 4)"},
				param{Name: "target", Type: "string"}, param{Name: "shrinkage", Type: "string"}, param{Name: "tz", Type: "string"}),
			Resp: List[HourPlanView]{}, handle: s.handleStaffingHistory},
	}
	routes = append(routes, s.customerRoutes()...)
	routes = append(routes, s.wrapupRoutes()...)
	routes = append(routes, s.worklistRoutes()...)
	return append(routes, s.deskRoutes()...)
}

func joinComma(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ", "
		}
		out += v
	}
	return out
}
