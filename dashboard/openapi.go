package dashboard

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"time"
)

// The OpenAPI document is made from the route table and the Go types of the bodies, so it
// cannot drift from what the handlers accept and return.

var (
	openAPIOnce sync.Once
	openAPIDoc  []byte
)

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request, p *principal) error {
	openAPIOnce.Do(func() { openAPIDoc, _ = json.MarshalIndent(s.openAPI(), "", "  ") })
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(openAPIDoc)
	return nil
}

var pathParamRE = regexp.MustCompile(`\{([a-z_]+)\}`)

func (s *Server) openAPI() map[string]any {
	schemas := map[string]any{}
	g := &schemaGen{defs: schemas}
	errRef := g.schema(reflect.TypeOf(errorBody{}))
	paths := map[string]any{}
	for _, rt := range s.routes {
		item, _ := paths[rt.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.Path] = item
		}
		op := map[string]any{"summary": rt.Summary, "operationId": operationID(rt)}
		var params []any
		for _, m := range pathParamRE.FindAllStringSubmatch(rt.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range rt.Query {
			sc := map[string]any{"type": q.Type}
			if q.Type == "date-time" {
				sc = map[string]any{"type": "string", "description": "RFC 3339, or a date YYYY-MM-DD"}
			}
			if len(q.Enum) > 0 {
				sc["enum"] = q.Enum
			}
			p := map[string]any{"name": q.Name, "in": "query", "schema": sc}
			if q.Desc != "" {
				p["description"] = q.Desc
			}
			if q.Required {
				p["required"] = true
			}
			params = append(params, p)
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.Public {
			op["security"] = []any{}
		} else {
			op["description"] = "Roles: " + roleList(rt.Roles) + "."
		}
		if rt.Desc != "" {
			d, _ := op["description"].(string)
			op["description"] = strings.TrimSpace(d + " " + rt.Desc)
		}
		if rt.Body != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": g.schema(reflect.TypeOf(rt.Body))}}}
		}
		status := rt.Status
		if status == 0 {
			status = http.StatusOK
		}
		produces := rt.Produces
		if produces == "" {
			produces = "application/json"
		}
		ok := map[string]any{"description": http.StatusText(status)}
		switch {
		case produces == "application/json" && rt.Resp != nil:
			ok["content"] = map[string]any{produces: map[string]any{"schema": g.schema(reflect.TypeOf(rt.Resp))}}
		case produces == "text/event-stream":
			ok["content"] = map[string]any{produces: map[string]any{"schema": map[string]any{"type": "string",
				"description": "SSE: event snapshot (data: Snapshot), then queue, agent and call events (data: StreamEvent)"}}}
			g.schema(reflect.TypeOf(Snapshot{}))
			g.schema(reflect.TypeOf(StreamEvent{}))
		case produces == "audio/wav":
			ok["content"] = map[string]any{produces: map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}}
		default:
			ok["content"] = map[string]any{produces: map[string]any{"schema": map[string]any{"type": "string"}}}
		}
		if rt.Path == "/api/v1/reports" {
			ok["content"].(map[string]any)["text/csv"] = map[string]any{"schema": map[string]any{"type": "string", "description": "with format=csv"}}
		}
		resps := map[string]any{itoa(status): ok}
		errResp := func(desc string) map[string]any {
			return map[string]any{"description": desc, "content": map[string]any{"application/json": map[string]any{"schema": errRef}}}
		}
		if !rt.Public {
			resps["401"] = errResp("no valid token or session")
			resps["403"] = errResp("the role may not do this, or a missing CSRF header on a browser session")
			resps["503"] = errResp("a browser session could not be checked: the store does not answer")
		}
		if rt.Body != nil || len(rt.Query) > 0 {
			resps["400"] = errResp("a field or parameter is wrong; error.field names it")
		}
		if strings.Contains(rt.Path, "{") {
			resps["404"] = errResp("not found")
		}
		if rt.Method != "GET" {
			resps["409"] = errResp("the change conflicts with the current state")
		}
		for st, desc := range rt.Errors {
			resps[itoa(st)] = errResp(desc)
		}
		if strings.HasSuffix(rt.Path, "/monitor") || strings.HasSuffix(rt.Path, "/recording") {
			resps["501"] = errResp("this hotline cannot monitor or record calls")
		}
		op["responses"] = resps
		item[strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "hotline API", "version": "1",
			"description": "Queues, agents, calls, customers, contacts, tickets, callbacks, recordings, reports and staffing. " +
				"Authenticate with Authorization: Bearer <token>. Lists take ?limit= and ?cursor= and return {items, next_cursor}. " +
				"Errors are {\"error\": {status, code, field, message}}. Bodies with unknown fields are refused."},
		"servers":  []any{map[string]any{"url": "/"}},
		"security": []any{map[string]any{"bearer": []any{}}, map[string]any{"session": []any{}}},
		"paths":    paths,
		"components": map[string]any{
			"schemas": schemas,
			"securitySchemes": map[string]any{
				"bearer":  map[string]any{"type": "http", "scheme": "bearer", "description": "a token from `hotline token create`"},
				"session": map[string]any{"type": "apiKey", "in": "cookie", "name": SessionCookie, "description": "browser session; changes need the X-CSRF-Token header"},
			},
		},
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func operationID(rt route) string {
	p := strings.TrimPrefix(rt.Path, "/api/v1/")
	p = pathParamRE.ReplaceAllString(p, "by_$1")
	p = strings.NewReplacer("/", "_", ".", "_").Replace(p)
	return strings.ToLower(rt.Method) + "_" + p
}

type schemaGen struct{ defs map[string]any }

var timeType = reflect.TypeOf(time.Time{})

func schemaName(t reflect.Type) string {
	n := t.Name()
	if i := strings.Index(n, "["); i >= 0 { // List[github.com/.../dashboard.QueueView]
		arg := n[i+1 : len(n)-1]
		arg = arg[strings.LastIndex(arg, ".")+1:]
		n = n[:i] + "Of" + arg
	}
	return n
}

// schema is the JSON Schema of t: named structs go to components and are referred to.
func (g *schemaGen) schema(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t.Kind() == reflect.String:
		return map[string]any{"type": "string"}
	case t.Kind() == reflect.Bool:
		return map[string]any{"type": "boolean"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return map[string]any{"type": "integer"}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return map[string]any{"type": "number"}
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case t.Kind() == reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case t.Kind() == reflect.Interface:
		return map[string]any{}
	case t.Kind() != reflect.Struct:
		return map[string]any{}
	}
	name := schemaName(t)
	ref := map[string]any{"$ref": "#/components/schemas/" + name}
	if _, done := g.defs[name]; done {
		return ref
	}
	props := map[string]any{}
	g.defs[name] = map[string]any{"type": "object", "properties": props} // before recursing
	var required []string
	for _, f := range reflect.VisibleFields(t) { // an embedded struct's fields are the outer's, as in encoding/json
		if !f.IsExported() || f.Anonymous && f.Type.Kind() == reflect.Struct && f.Tag.Get("json") == "" {
			continue
		}
		tag := f.Tag.Get("json")
		jn := strings.Split(tag, ",")[0]
		if jn == "-" {
			continue
		}
		if jn == "" {
			jn = f.Name
		}
		sc := g.schema(f.Type)
		if f.Type.Kind() == reflect.Pointer || f.Type.Kind() == reflect.Interface {
			sc = map[string]any{"anyOf": []any{sc, map[string]any{"type": "null"}}}
		}
		props[jn] = sc
		if !strings.Contains(tag, "omitempty") && f.Type.Kind() != reflect.Pointer {
			required = append(required, jn)
		}
	}
	if required != nil && !isRequestType(t) {
		g.defs[name].(map[string]any)["required"] = required
	}
	return ref
}

// isRequestType: request bodies have optional fields; their handlers say what is required.
func isRequestType(t reflect.Type) bool {
	switch t {
	case reflect.TypeOf(AgentActionRequest{}), reflect.TypeOf(NewContactRequest{}), reflect.TypeOf(NewTicketRequest{}),
		reflect.TypeOf(TicketPatch{}), reflect.TypeOf(NoteRequest{}), reflect.TypeOf(CancelRequest{}), reflect.TypeOf(RescheduleRequest{}),
		reflect.TypeOf(MonitorRequest{}), reflect.TypeOf(MonitorPatch{}), reflect.TypeOf(RecordingRequest{}),
		reflect.TypeOf(TakeRequest{}), reflect.TypeOf(CloseRequest{}):
		return true
	}
	return false
}
