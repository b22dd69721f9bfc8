package dashboard

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/customers"
)

// validate checks a decoded JSON value against a schema of the document: types, required
// properties, no properties the schema does not list, items, maps, nullables.
func validate(doc map[string]any, schema map[string]any, v any, at string) error {
	if ref, ok := schema["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		s, ok := doc["components"].(map[string]any)["schemas"].(map[string]any)[name].(map[string]any)
		if !ok {
			return fmt.Errorf("%s: unknown schema %s", at, ref)
		}
		return validate(doc, s, v, at)
	}
	if alts, ok := schema["anyOf"].([]any); ok {
		var errs []string
		for _, s := range alts {
			if err := validate(doc, s.(map[string]any), v, at); err == nil {
				return nil
			} else {
				errs = append(errs, err.Error())
			}
		}
		return fmt.Errorf("%s: matches none of anyOf: %s", at, strings.Join(errs, "; "))
	}
	typ, _ := schema["type"].(string)
	switch typ {
	case "":
		return nil
	case "null":
		if v != nil {
			return fmt.Errorf("%s: want null", at)
		}
	case "string":
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: want a string, got %T", at, v)
		}
		if schema["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
				return fmt.Errorf("%s: %q is not a date-time", at, s)
			}
		}
	case "integer":
		f, ok := v.(float64)
		if !ok || f != float64(int64(f)) {
			return fmt.Errorf("%s: want an integer, got %v", at, v)
		}
	case "number":
		if _, ok := v.(float64); !ok {
			return fmt.Errorf("%s: want a number, got %T", at, v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: want a boolean, got %T", at, v)
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: want an array, got %T", at, v)
		}
		for i, x := range a {
			if err := validate(doc, schema["items"].(map[string]any), x, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case "object":
		o, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want an object, got %T", at, v)
		}
		if ap, ok := schema["additionalProperties"].(map[string]any); ok {
			for k, x := range o {
				if err := validate(doc, ap, x, at+"."+k); err != nil {
					return err
				}
			}
			return nil
		}
		props, _ := schema["properties"].(map[string]any)
		req, _ := schema["required"].([]any)
		for _, r := range req {
			if _, ok := o[r.(string)]; !ok {
				return fmt.Errorf("%s: required property %s missing", at, r)
			}
		}
		for k, x := range o {
			ps, ok := props[k].(map[string]any)
			if !ok {
				return fmt.Errorf("%s: property %s is not in the document", at, k)
			}
			if err := validate(doc, ps, x, at+"."+k); err != nil {
				return err
			}
		}
	}
	return nil
}

// The OpenAPI document lists every endpoint, and what the API returns matches it.
func TestOpenAPIDescribesTheAPI(t *testing.T) {
	e := newEnv(t)
	var doc map[string]any
	e.ok(200, e.do("GET", "/api/v1/openapi.json", "", nil)).json(t, &doc)
	if doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi %v", doc["openapi"])
	}
	paths := doc["paths"].(map[string]any)
	for _, rt := range e.srv.routes {
		op, ok := paths[rt.Path].(map[string]any)[strings.ToLower(rt.Method)].(map[string]any)
		if !ok {
			t.Errorf("%s %s is not in the document", rt.Method, rt.Path)
			continue
		}
		if op["summary"] == "" || op["responses"] == nil {
			t.Errorf("%s %s: %v", rt.Method, rt.Path, op)
		}
	}
	n := 0
	for _, p := range paths {
		n += len(p.(map[string]any))
	}
	if n != len(e.srv.routes) {
		t.Errorf("%d operations in the document, %d routes", n, len(e.srv.routes))
	}

	// Data for every list.
	vm := e.voicemail("+8613800000005")
	e.store.UpdateTicket(e.ctx, vm.ID, customers.TicketUpdate{Assignee: ptr("1001")})
	e.store.AddTicketNote(e.ctx, vm.ID, "1001", "called")
	cb, err := e.store.RequestCallback(e.ctx, customers.CallbackRequest{Number: "+8613800000007", Queue: "support", Source: customers.FromAPI})
	if err != nil {
		t.Fatal(err)
	}
	e.live.d.Pause("1003", "lunch")
	e.live.enqueue("c1", "support", "+8613800000001")
	e.live.setAudio("c1", &CallAudio{Caller: &LegAudio{PacketsReceived: 500, LostRatio: 0}, Agent: &LegAudio{PacketsReceived: 380, PacketsLost: 20, LostRatio: 0.05, JitterMS: 12.5,
		HeardLostRatio: ptr(0.04), HeardJitterMS: ptr(20.0), RTTMS: ptr(80.5)}}) // the agent's phone has reported by RTCP, the caller not
	e.live.enqueue("c2", "sales", "+8613800000002") // no audio: as on Asterisk
	check := func(method, path, tok string, body any, want int) {
		t.Helper()
		r := e.do(method, path, tok, body)
		if r.status != want {
			t.Fatalf("%s %s: %d %s", method, path, r.status, r.body)
		}
		var rt route
		for _, x := range e.srv.routes {
			if x.Method == method && routeMatches(x.Path, strings.SplitN(path, "?", 2)[0]) {
				rt = x
			}
		}
		op := paths[rt.Path].(map[string]any)[strings.ToLower(method)].(map[string]any)
		resp, ok := op["responses"].(map[string]any)[fmt.Sprint(want)].(map[string]any)
		if !ok {
			t.Fatalf("%s %s: status %d is not documented", method, path, want)
		}
		schema := resp["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
		var v any
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Fatal(err)
		}
		if err := validate(doc, schema, v, method+" "+path); err != nil {
			t.Error(err)
		}
	}
	c, _ := e.store.ByNumber(e.ctx, "+8613800000005")
	for _, p := range []string{"/api/v1/me", "/api/v1/queues", "/api/v1/queues/support", "/api/v1/agents", "/api/v1/agents/1003", "/api/v1/calls",
		"/api/v1/samples", "/api/v1/flows", "/api/v1/customers?number=%2B8613800000005", "/api/v1/customers/" + c.ID,
		"/api/v1/customers/" + c.ID + "/timeline", "/api/v1/contacts", "/api/v1/tickets", "/api/v1/tickets/" + vm.Number,
		"/api/v1/callbacks", "/api/v1/callbacks/" + cb.ID, "/api/v1/reports?from=2026-05-11&interval=1d",
		"/api/v1/staffing?calls_per_hour=120&aht=3m", "/api/v1/staffing/history?queue=support&weeks=1"} {
		check("GET", p, e.sup, nil, 200)
	}
	check("POST", "/api/v1/agents/1003/actions", e.sup, map[string]string{"action": "unpause"}, 200)
	check("POST", "/api/v1/contacts", e.integ, map[string]string{"channel": "email", "address": "wang@example.com", "summary": "hi"}, 201)
	check("POST", "/api/v1/tickets", e.integ, map[string]string{"subject": "from the CRM"}, 201)
	check("PATCH", "/api/v1/tickets/"+vm.Number, e.agent1, map[string]string{"status": "pending"}, 200)
	check("POST", "/api/v1/tickets/"+vm.Number+"/notes", e.agent1, map[string]string{"body": "x"}, 201)
	check("POST", "/api/v1/callbacks/"+cb.ID+"/cancel", e.sup, map[string]string{}, 200)
	// Recordings, the audit trail, monitoring and recording controls.
	ri := e.conversationRecording("+8613800000033")
	check("GET", "/api/v1/recordings?kind=call", e.sup, nil, 200)
	check("GET", "/api/v1/customers/"+ri.CustomerID+"/timeline", e.sup, nil, 200)
	check("GET", "/api/v1/audit?action=recording.", e.sup, nil, 200)
	e.live.connect("c1", "1001")
	check("POST", "/api/v1/calls/c1/monitor", e.sup, MonitorRequest{Mode: "listen", Supervisor: "9001"}, 200)
	check("POST", "/api/v1/calls/c1/monitor", e.sup, MonitorRequest{Mode: "listen", Supervisor: "9001"}, 409)
	check("PATCH", "/api/v1/calls/c1/monitor", e.sup, MonitorPatch{Mode: "barge"}, 200)
	check("GET", "/api/v1/calls", e.sup, nil, 200)
	check("DELETE", "/api/v1/calls/c1/monitor", e.sup, nil, 200)
	check("POST", "/api/v1/calls/c1/recording", e.agent1, RecordingRequest{Action: "start"}, 200)
	check("POST", "/api/v1/calls/c1/recording", e.sup, RecordingRequest{Action: "start"}, 200)
	check("POST", "/api/v1/calls/c1/monitor", e.sup, MonitorRequest{Mode: "listen", Supervisor: "9002"}, 409)
	check("GET", "/api/v1/recordings/"+ri.ID, e.agent1, nil, 403)
	// Customer data rights.
	other, _ := e.store.FindOrCreateByNumber(e.ctx, "+8613800000044")
	check("PATCH", "/api/v1/customers/"+c.ID, e.sup, map[string]any{"name": "Wang Fang"}, 200)
	check("POST", "/api/v1/customers/"+c.ID+"/identities", e.sup, IdentityRequest{Kind: "crm", Value: "SF-1"}, 201)
	check("POST", "/api/v1/customers/"+other.ID+"/identities", e.sup, IdentityRequest{Kind: "crm", Value: "SF-1"}, 409)
	check("POST", "/api/v1/customers/"+c.ID+"/identities", e.sup, IdentityRequest{Kind: "email", Value: "x"}, 422)
	check("DELETE", "/api/v1/customers/"+c.ID+"/identities/crm/SF-1", e.sup, nil, 200)
	check("POST", "/api/v1/customers/"+c.ID+"/merge", e.sup, MergeRequest{From: other.ID}, 200)
	check("GET", "/api/v1/customers/"+c.ID+"/timeline", e.sup, nil, 200)
	check("GET", "/api/v1/customers/"+c.ID+"/export", e.sup, nil, 200)
	check("DELETE", "/api/v1/customers/"+ri.CustomerID, e.sup, nil, 200)
	// Error bodies too.
	check("GET", "/api/v1/queues", "", nil, 401)
	check("GET", "/api/v1/queues", e.integ, nil, 403)
	check("GET", "/api/v1/queues/nope", e.sup, nil, 404)
	check("POST", "/api/v1/agents/1003/actions", e.sup, map[string]string{"action": "nap"}, 400)
	check("POST", "/api/v1/callbacks/"+cb.ID+"/cancel", e.sup, map[string]string{}, 409)
	if validate(doc, map[string]any{"$ref": "#/components/schemas/AgentView"}, map[string]any{"id": "1"}, "x") == nil {
		t.Error("the validator accepts an agent without its required fields")
	}
}

func ptr[T any](v T) *T { return &v }

func routeMatches(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i := range ps {
		if !strings.HasPrefix(ps[i], "{") && ps[i] != xs[i] {
			return false
		}
	}
	return true
}
