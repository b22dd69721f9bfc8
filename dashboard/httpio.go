package dashboard

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/recordings"
	"github.com/hotline-cc/hotline/reports"
	"github.com/hotline-cc/hotline/staffing"
)

// APIError is how every API error is written:
//
//	{"error": {"status": 400, "code": "invalid", "field": "reason", "message": "reason: must not be empty when pausing"}}
type APIError struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`            // invalid, unknown_field, unauthorized, forbidden, not_found, conflict, ...
	Field   string `json:"field,omitempty"` // the query parameter or body field at fault
	Message string `json:"message"`
	// Customer is the customer an error is about: the owner of an identity already taken
	// (409 identity_taken), the survivor a merged-away record went into (301 merged).
	Customer string `json:"customer,omitempty"`
}

func (e *APIError) Error() string { return e.Message }

type errorBody struct {
	Error *APIError `json:"error"`
}

func apiErr(status int, code, field, format string, a ...any) *APIError {
	msg := fmt.Sprintf(format, a...)
	if field != "" {
		msg = field + ": " + msg
	}
	return &APIError{Status: status, Code: code, Field: field, Message: msg}
}

// invalid is a 400 naming the field at fault.
func invalid(field, format string, a ...any) *APIError {
	return apiErr(http.StatusBadRequest, "invalid", field, format, a...)
}

func notFound(format string, a ...any) *APIError {
	return apiErr(http.StatusNotFound, "not_found", "", format, a...)
}

func forbidden(format string, a ...any) *APIError {
	return apiErr(http.StatusForbidden, "forbidden", "", format, a...)
}

// toAPIError classifies errors from the store, the ACD, reports and staffing.
func toAPIError(err error) *APIError {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	var refusal *customers.Refusal
	var taken *customers.IdentityTakenError
	msg := err.Error()
	switch {
	case errors.As(err, &refusal):
		return &APIError{Status: http.StatusUnprocessableEntity, Code: "refused_" + string(refusal.Code), Message: refusal.Reason}
	case errors.As(err, &taken):
		return &APIError{Status: http.StatusConflict, Code: "identity_taken", Message: msg, Customer: taken.Owner}
	case errors.Is(err, customers.ErrNotFound), errors.Is(err, recordings.ErrNotFound), errors.Is(err, acd.ErrUnknownAgent),
		errors.Is(err, acd.ErrUnknownQueue):
		return &APIError{Status: http.StatusNotFound, Code: "not_found", Message: msg}
	case errors.Is(err, acd.ErrInvalidTransition), errors.Is(err, acd.ErrNotMember), errors.Is(err, customers.ErrNotPending),
		errors.Is(err, customers.ErrErased), errors.Is(err, customers.ErrConflict):
		return &APIError{Status: http.StatusConflict, Code: "conflict", Message: msg}
	case errors.Is(err, customers.ErrBadCursor):
		return &APIError{Status: http.StatusBadRequest, Code: "invalid", Field: "cursor", Message: "cursor: not one this API handed out"}
	case errors.Is(err, customers.ErrInvalid), errors.Is(err, customers.ErrInvalidIdentity), errors.Is(err, recordings.ErrBadID),
		errors.Is(err, reports.ErrInvalid), errors.Is(err, staffing.ErrInvalid):
		return &APIError{Status: http.StatusBadRequest, Code: "invalid", Message: msg}
	}
	return &APIError{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error"}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, e *APIError) {
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="hotline"`)
	}
	writeJSON(w, e.Status, errorBody{e})
}

// maxBody bounds request bodies.
const maxBody = 1 << 20

// decode reads a JSON body into v, refusing unknown fields, trailing data and wrong types
// with a message that names the field.
func decode(r *http.Request, v any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return apiErr(http.StatusUnsupportedMediaType, "unsupported_media_type", "", "send the body as Content-Type: application/json")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return invalid("body", "could not be read: %v", err)
	}
	if len(body) > maxBody {
		return apiErr(http.StatusRequestEntityTooLarge, "too_large", "body", "larger than %d bytes", maxBody)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		e := bodyError(err, v)
		if e.Field == "body" {
			if f, msg := badField(body, v); f != "" {
				return invalid(f, "%s", msg)
			}
		}
		return e
	}
	if dec.More() {
		return invalid("body", "one JSON object expected; there is more after it")
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalid("body", "one JSON object expected; there is more after it")
	}
	return nil
}

// badField finds which field of a JSON object does not decode into v's field of that name
// (a time that is no RFC 3339 time, say).
func badField(body []byte, v any) (string, string) {
	var raw map[string]json.RawMessage
	if json.Unmarshal(body, &raw) != nil {
		return "", ""
	}
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return "", ""
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		msg, ok := raw[name]
		if !ok || name == "" {
			continue
		}
		if err := json.Unmarshal(msg, reflect.New(f.Type).Interface()); err != nil {
			return name, "must be " + jsonKind(f.Type) + ", not " + string(msg)
		}
	}
	return "", ""
}

func bodyError(err error, v any) *APIError {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return invalid("body", "empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("body", "the JSON ends too early")
	case errors.As(err, &syn):
		return invalid("body", "not valid JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return invalid("body", "must be a JSON object, not %s", typ.Value)
		}
		return invalid(field, "must be %s, not %s", jsonKind(typ.Type), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apiErr(http.StatusBadRequest, "unknown_field", name, "unknown field; the fields are %s", strings.Join(jsonFields(v), ", "))
	}
	return invalid("body", "%v", err)
}

func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeOf(time.Time{}):
		return "a time (RFC 3339, e.g. 2026-05-11T09:30:00+08:00)"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Float64:
		return "a number"
	case t.Kind() == reflect.Slice:
		return "a list"
	}
	return "an object"
}

// jsonFields lists the JSON names of a struct's fields.
func jsonFields(v any) []string {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for i := 0; i < t.NumField(); i++ {
		name := strings.Split(t.Field(i).Tag.Get("json"), ",")[0]
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

// List is one page of a list: Items, and NextCursor to pass as ?cursor= for the next page
// ("" after the last). A page may hold fewer than limit items when a filter hid some.
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

const (
	defaultLimit = 50
	maxLimit     = 500
)

// page reads ?limit= (1..500, default 50) and ?cursor=.
func page(r *http.Request) (customers.Page, error) {
	p := customers.Page{Limit: defaultLimit, Cursor: r.URL.Query().Get("cursor")}
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return p, invalid("limit", "%q: use a whole number from 1 to %d", s, maxLimit)
		}
		p.Limit = n
	}
	if len(p.Cursor) > 200 {
		return p, invalid("cursor", "too long")
	}
	return p, nil
}

// pageOf pages an in-memory list: the cursor is an offset.
func pageOf[T any](items []T, p customers.Page) (List[T], error) {
	off := 0
	if p.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(p.Cursor)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "o:"))
		if err != nil || err2 != nil || !strings.HasPrefix(string(b), "o:") || n < 0 {
			return List[T]{}, invalid("cursor", "not one this API handed out")
		}
		off = n
	}
	out := List[T]{Items: []T{}}
	if off < len(items) {
		end := min(off+p.Limit, len(items))
		out.Items = items[off:end]
		if end < len(items) {
			out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(end)))
		}
	}
	return out, nil
}

func listOf[T, U any](items []T, next string, conv func(T) U) List[U] {
	out := List[U]{Items: make([]U, 0, len(items)), NextCursor: next}
	for _, it := range items {
		out.Items = append(out.Items, conv(it))
	}
	return out
}

// queryTime reads a time parameter: RFC 3339, or a date (YYYY-MM-DD, midnight in loc).
// queryRange reads the optional from and to of a list (local time when no zone is given).
func queryRange(r *http.Request) (from, to time.Time, err error) {
	if from, err = queryTime(r, "from", time.Local); err != nil {
		return
	}
	to, err = queryTime(r, "to", time.Local)
	return
}

func queryTime(r *http.Request, name string, loc *time.Location) (time.Time, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04", s, loc); err == nil {
		return t, nil
	}
	return time.Time{}, invalid(name, "%q is not a time: use RFC 3339 (2026-05-11T09:00:00+08:00) or a date (2026-05-11)", s)
}

// queryOneOf reads a parameter that must be one of the allowed values ("" when absent).
func queryOneOf(r *http.Request, name string, allowed ...string) (string, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return "", nil
	}
	for _, a := range allowed {
		if s == a {
			return s, nil
		}
	}
	return "", invalid(name, "%q: use one of %s", s, strings.Join(allowed, ", "))
}

// queryList reads a comma-separated parameter whose items must be allowed.
func queryList(r *http.Request, name string, allowed ...string) ([]string, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return nil, nil
	}
	var out []string
	for _, v := range strings.Split(s, ",") {
		v = strings.TrimSpace(v)
		ok := false
		for _, a := range allowed {
			ok = ok || v == a
		}
		if !ok {
			return nil, invalid(name, "%q: use one or more (comma-separated) of %s", v, strings.Join(allowed, ", "))
		}
		out = append(out, v)
	}
	return out, nil
}
