package dashboard

import (
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Me is who a token or session is.
type Me struct {
	Role    Role     `json:"role"`
	Agent   string   `json:"agent,omitempty"`
	TokenID string   `json:"token_id"`
	Name    string   `json:"name,omitempty"`
	Queues  []string `json:"queues,omitempty"` // an agent's configured queues
	// Dispositions are the wrap-up codes of an agent's queues, by queue (queues without codes
	// are left out: their wrap-up form takes a note only).
	Dispositions map[string][]string `json:"dispositions,omitempty"`
	// Supervisors are the configured supervisors, who may monitor calls (supervisor tokens).
	Supervisors []string `json:"supervisors,omitempty"`
	Session     bool     `json:"session"` // a browser session (send X-CSRF-Token on changes)
	// NewToken is the supervisor token created at first start, shown once to the session
	// opened with the first-start login link. Keep it: it is not stored anywhere in clear.
	NewToken string `json:"new_token,omitempty"`
	// Node is the node answering, on a site of several (cluster.shared); Nodes the site's
	// live nodes. Queues and agents are the site's; live calls are those this node carries.
	Node  string   `json:"node,omitempty"`
	Nodes []string `json:"nodes,omitempty"`
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request, p *principal) error {
	me := Me{Role: p.Role, Agent: p.Agent, TokenID: p.TokenID, Name: p.Name, Session: p.session != nil}
	if p.Role == RoleSupervisor {
		me.Supervisors = s.supervisors
	}
	if p.Role == RoleAgent {
		me.Queues = s.members[p.Agent]
		me.Dispositions = s.agentDispositions(p.Agent)
	}
	if p.session != nil {
		me.NewToken = s.takeReveal(p.session)
	}
	if s.site.Node != "" {
		me.Node = s.site.Node
		if s.site.Nodes != nil {
			if nodes, err := s.site.Nodes(r.Context()); err == nil {
				me.Nodes = nodes
			} else {
				s.log.Warn("listing the site's nodes", "error", err)
			}
		}
	}
	writeJSON(w, http.StatusOK, me)
	return nil
}

func (s *Server) handleQueues(w http.ResponseWriter, r *http.Request, p *principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	var out []QueueView
	for _, q := range s.live.Queues() {
		out = append(out, queueView(q))
	}
	l, err := pageOf(out, pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

func (s *Server) handleQueue(w http.ResponseWriter, r *http.Request, p *principal) error {
	name := r.PathValue("name")
	for _, q := range s.live.Queues() {
		if q.Queue == name {
			writeJSON(w, http.StatusOK, queueView(q))
			return nil
		}
	}
	return notFound("no queue named %q", name)
}

func (s *Server) handleAgents(w http.ResponseWriter, r *http.Request, p *principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	out := []AgentView{}
	for _, a := range s.live.Agents() {
		if p.Role == RoleAgent && a.ID != p.Agent {
			continue
		}
		out = append(out, agentView(a))
	}
	l, err := pageOf(out, pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

func (s *Server) agentByID(id string) (AgentView, error) {
	for _, a := range s.live.Agents() {
		if a.ID == id {
			return agentView(a), nil
		}
	}
	return AgentView{}, notFound("no agent with ID %q", id)
}

func (p *principal) checkAgent(id string) error {
	if p.Role == RoleAgent && id != p.Agent {
		return forbidden("an agent token may see and change only its own agent (%s), not %s", p.Agent, id)
	}
	return nil
}

func (s *Server) handleAgent(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	if err := p.checkAgent(id); err != nil {
		return err
	}
	a, err := s.agentByID(id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// AgentActionRequest changes an agent's state.
type AgentActionRequest struct {
	Action string `json:"action"` // login | logout | pause | unpause
	Reason string `json:"reason"` // required to pause (e.g. lunch, training); only for pause
}

const maxReason = 64

func (s *Server) handleAgentAction(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	if err := p.checkAgent(id); err != nil {
		return err
	}
	var req AgentActionRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	switch req.Action {
	case ActionPause:
		req.Reason = strings.TrimSpace(req.Reason)
		if req.Reason == "" {
			return invalid("reason", "required to pause: say why (lunch, training, ...)")
		}
		if utf8.RuneCountInString(req.Reason) > maxReason || strings.ContainsAny(req.Reason, "\r\n\t") {
			return invalid("reason", "at most %d characters on one line", maxReason)
		}
	case ActionLogin, ActionLogout, ActionUnpause:
		if req.Reason != "" {
			return invalid("reason", "only pause takes a reason, not %s", req.Action)
		}
	case "":
		return invalid("action", "required: login, logout, pause or unpause")
	default:
		return invalid("action", "%q: use login, logout, pause or unpause", req.Action)
	}
	if _, err := s.agentByID(id); err != nil {
		return err
	}
	if err := s.live.AgentAction(r.Context(), id, req.Action, req.Reason); err != nil {
		return err
	}
	s.log.Info("agent action", "agent", id, "action", req.Action, "reason", req.Reason, "by", p.TokenID)
	if p.oversees() {
		d := map[string]any{}
		if req.Reason != "" {
			d["reason"] = req.Reason
		}
		s.audit(r, p, "agent."+string(req.Action), id, d)
	}
	a, err := s.agentByID(id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *Server) handleCalls(w http.ResponseWriter, r *http.Request, p *principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	calls := s.live.Calls()
	sort.SliceStable(calls, func(i, j int) bool { return calls[i].Started.Before(calls[j].Started) })
	l, err := pageOf(calls, pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

func (s *Server) handleSamples(w http.ResponseWriter, r *http.Request, p *principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	since, err := queryTime(r, "since", time.Local)
	if err != nil {
		return err
	}
	if since.IsZero() {
		since = s.now().Add(-sampleKeep)
	}
	l, err := pageOf(s.hub.samplesOf(r.URL.Query().Get("queue"), since), pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

// FlowView is a loaded flow.
type FlowView struct {
	Name     string `json:"name"`
	Mermaid  string `json:"mermaid"`
	GraphURL string `json:"graph_url"` // an SVG drawing
}

func (s *Server) handleFlows(w http.ResponseWriter, r *http.Request, p *principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	flows := s.live.Flows()
	out := []FlowView{}
	for _, name := range sortedKeys(flows) {
		out = append(out, FlowView{Name: name, Mermaid: flows[name], GraphURL: "/api/v1/flows/" + name + "/graph.svg"})
	}
	l, err := pageOf(out, pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

func (s *Server) handleFlowGraph(w http.ResponseWriter, r *http.Request, p *principal) error {
	name := r.PathValue("name")
	src, ok := s.live.Flows()[name]
	if !ok {
		return notFound("no flow named %q", name)
	}
	g := ParseMermaid(src)
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Write([]byte(g.SVG()))
	return nil
}

func (p *principal) mayQueue(members map[string][]string, queue string) bool {
	return p.Role != RoleAgent || slices.Contains(members[p.Agent], queue)
}
