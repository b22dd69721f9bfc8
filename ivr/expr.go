package ivr

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"

	"github.com/hotline-cc/hotline/prompts"
)

// varType is the type of a flow variable. Expressions are type-checked against these when
// the flow loads.
type varType int

const (
	typAny varType = iota
	typString
	typInt
	typFloat
	typBool
	typDuration
	typCustomer
	typTime
)

func (t varType) String() string {
	return [...]string{"any value", "text", "a whole number", "a number", "true/false", "a duration", "a customer", "a time"}[t]
}

func (t varType) expr() types.Type {
	switch t {
	case typString:
		return types.String
	case typInt:
		return types.Int
	case typFloat:
		return types.Float64
	case typBool:
		return types.Bool
	case typDuration:
		return types.TypeOf(time.Duration(0))
	case typTime:
		return types.TypeOf(time.Time{})
	case typCustomer:
		return customerType
	}
	return types.Any
}

func (t varType) zero() any {
	switch t {
	case typString:
		return ""
	case typInt:
		return 0
	case typFloat:
		return 0.0
	case typBool:
		return false
	case typDuration:
		return time.Duration(0)
	case typTime:
		return time.Time{}
	case typCustomer:
		return customerValue(nil)
	}
	return nil
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	timeType     = reflect.TypeOf(time.Time{})
)

func typeOfReflect(rt reflect.Type) varType {
	if rt == nil {
		return typAny
	}
	switch {
	case rt == durationType:
		return typDuration
	case rt == timeType:
		return typTime
	}
	switch rt.Kind() {
	case reflect.String:
		return typString
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return typInt
	case reflect.Float32, reflect.Float64:
		return typFloat
	case reflect.Bool:
		return typBool
	}
	return typAny
}

// assignable says whether a value of type from may be stored in a variable of type to.
func assignable(to, from varType) bool {
	return to == from || to == typAny || from == typAny || (to == typFloat && from == typInt)
}

// varInfo is a flow variable: declared under vars:, or set by a step.
type varInfo struct {
	name      string
	typ       varType
	init      any
	line, col int
	declared  bool   // under vars:
	setBy     string // node that first sets it, for messages
	sensitive bool
}

// builtin variables every expression can read.
type builtinVar struct {
	typ varType
	doc string
}

var builtinVars = map[string]*builtinVar{
	"caller":          {typString, "the caller's number as signalled (\"\" when withheld)"},
	"dialed":          {typString, "the number the caller dialed"},
	"call_id":         {typString, "the call's ID"},
	"language":        {typString, "the call's language (en, zh ...)"},
	"flow":            {typString, "the name of the running flow"},
	"digits":          {typString, "what the caller pressed at the last menu"},
	"customer":        {typCustomer, "the customer found by lookup"},
	"ticket":          {typString, "the ticket number of the voicemail just left"},
	"callback_id":     {typString, "the callback just booked"},
	"callback_reason": {typString, "why a callback was refused"},
	"queue_result":    {typString, "how the last queue step ended (answered, timeout ...)"},
	"agent":           {typString, "the agent who answered"},
	"waited":          {typDuration, "how long the caller waited in the last queue"},
	"webhook_status":  {typInt, "HTTP status of the last webhook (0 when it failed)"},
	"survey_score":    {typInt, "the last survey answer, 1 to 5"},
}

// builtin functions (beside expr-lang's own, minus now which follows the call's clock).
var builtinFuncs = map[string]string{
	"now":          "now() is the current time (the simulated time in sim and tests)",
	"say_digits":   "say_digits(text) reads digits one by one in the call's language",
	"say_number":   "say_number(n) reads a number in words in the call's language",
	"say_duration": "say_duration(d) reads a duration in the call's language",
	"luhn":         "luhn(text) is true when text is digits with a valid Luhn check digit",
}

var customerType = types.Map{
	"found": types.Bool, "id": types.String, "name": types.String, "account": types.String,
	"vip": types.Bool, "tier": types.String, "language": types.String,
}

func customerValue(c *Customer) map[string]any {
	if c == nil {
		return map[string]any{"found": false, "id": "", "name": "", "account": "", "vip": false, "tier": "", "language": ""}
	}
	return map[string]any{"found": true, "id": c.ID, "name": c.Name, "account": c.Account,
		"vip": c.VIP, "tier": c.Tier, "language": c.Language}
}

// exprReserved are names a variable may not take: the expression language's words and
// built-in functions.
var exprReserved = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`true false nil and or not in matches contains startsWith endsWith
		let if else all none any one filter map find findIndex findLast findLastIndex count sum groupBy
		sortBy reduce len type abs ceil floor round int float string trim trimPrefix trimSuffix upper
		lower split splitAfter replace repeat join indexOf lastIndexOf hasPrefix hasSuffix max min mean
		median toJSON fromJSON now duration date timezone first last get take keys values toPairs
		fromPairs reverse uniq concat flatten sort bitnot bitand bitor bitxor bitnand bitshl bitshr bitushr`) {
		m[w] = true
	}
	for k := range builtinFuncs {
		m[k] = true
	}
	return m
}()

var funcTypes = types.Map{
	"now":          types.TypeOf(func() time.Time { return time.Time{} }),
	"say_digits":   types.TypeOf(func(string) string { return "" }),
	"say_number":   types.TypeOf(func(float64) string { return "" }),
	"say_duration": types.TypeOf(func(time.Duration) string { return "" }),
	"luhn":         types.TypeOf(func(string) bool { return false }),
}

// envTypes describes what an expression in flow f can see.
func envTypes(f *Flow) types.Map {
	m := types.Map{}
	for k, b := range builtinVars {
		m[k] = b.typ.expr()
	}
	for k, t := range funcTypes {
		m[k] = t
	}
	for k, v := range f.vars {
		m[k] = v.typ.expr()
	}
	return m
}

type compiled struct {
	prog *vm.Program
	typ  varType
	refs []string // variables the expression reads
}

// compileExpr compiles e against env; on failure it returns a message and the character
// offset of the problem inside the expression.
func compileExpr(src string, env types.Map, asBool bool) (compiled, string, int) {
	opts := []expr.Option{expr.Env(env), expr.DisableBuiltin("now"), expr.MaxNodes(2000)}
	if asBool {
		opts = append(opts, expr.AsBool())
	}
	prog, err := compileSafe(src, opts)
	if err != nil {
		msg, off := err.Error(), 0
		var fe *file.Error
		if errors.As(err, &fe) {
			msg = fe.Message
			off = fe.Column
			for i, line := range strings.Split(src, "\n") {
				if i+1 >= fe.Line {
					break
				}
				off += len([]rune(line)) + 1
			}
		}
		if strings.HasPrefix(msg, "expected bool, but got ") {
			msg = "this must be true or false, but it is " + strings.TrimPrefix(msg, "expected bool, but got ")
		}
		return compiled{}, msg, off
	}
	c := compiled{prog: prog, typ: typeOfReflect(prog.Node().Type())}
	if prog.Node().Type() == nil || prog.Node().Type().Kind() == reflect.Interface {
		c.typ = typAny
	}
	seen := map[string]bool{}
	ast.Find(prog.Node(), func(n ast.Node) bool {
		if id, ok := n.(*ast.IdentifierNode); ok && !seen[id.Value] {
			seen[id.Value] = true
			c.refs = append(c.refs, id.Value)
		}
		return false
	})
	return c, "", 0
}

func compileSafe(src string, opts []expr.Option) (p *vm.Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("the expression cannot be compiled: %v", r)
		}
	}()
	return expr.Compile(src, opts...)
}

// eval runs a compiled expression on the call's variables.
func (r *run) eval(e *expression) (v any, err error) {
	defer func() {
		if err != nil && r.readsSensitive(e) {
			// the message could quote the value
			err = fmt.Errorf("expression %q failed (details hidden: it reads a sensitive value)", e.src)
		}
	}()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("expression %q failed: %v", e.src, p)
		}
	}()
	v, err = expr.Run(e.prog, r.env)
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			return nil, fmt.Errorf("expression %q: %s", e.src, fe.Message)
		}
		return nil, fmt.Errorf("expression %q: %w", e.src, err)
	}
	return v, nil
}

// coerce converts a value to a variable's type, as set, input and webhook store it.
func coerce(v any, t varType) (any, error) {
	switch t {
	case typAny:
		return v, nil
	case typString:
		switch x := v.(type) {
		case string:
			return x, nil
		case json.Number:
			return x.String(), nil
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		case int:
			return strconv.Itoa(x), nil
		case bool:
			return strconv.FormatBool(x), nil
		}
	case typInt:
		switch x := v.(type) {
		case int:
			return x, nil
		case int64:
			return int(x), nil
		case float64:
			if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
				return int(x), nil
			}
		case json.Number:
			if n, err := x.Int64(); err == nil {
				return int(n), nil
			}
		case string:
			if n, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
				return n, nil
			}
		}
	case typFloat:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int:
			return float64(x), nil
		case json.Number:
			if f, err := x.Float64(); err == nil {
				return f, nil
			}
		case string:
			if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
				return f, nil
			}
		}
	case typBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			if b, err := strconv.ParseBool(x); err == nil {
				return b, nil
			}
		}
	case typDuration:
		switch x := v.(type) {
		case time.Duration:
			return x, nil
		case string:
			if d, err := time.ParseDuration(x); err == nil {
				return d, nil
			}
		case float64:
			return time.Duration(x * float64(time.Second)), nil
		case int:
			return time.Duration(x) * time.Second, nil
		}
	case typTime:
		if x, ok := v.(time.Time); ok {
			return x, nil
		}
	}
	return nil, fmt.Errorf("%v is not %s", describe(v), t)
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing (null)"
	case string:
		return strconv.Quote(x)
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("%v", v)
}

// spoken turns a value into words in a language, for say.
func spoken(v any, lang string) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int:
		return prompts.SayNumber(lang, int64(x))
	case int64:
		return prompts.SayNumber(lang, x)
	case float64:
		return prompts.SayDecimal(lang, x)
	case json.Number:
		if f, err := x.Float64(); err == nil {
			return prompts.SayDecimal(lang, f)
		}
		return x.String()
	case time.Duration:
		return prompts.SayDuration(lang, x)
	case bool:
		if prompts.Base(lang) == "zh" {
			return map[bool]string{true: "是", false: "否"}[x]
		}
		return map[bool]string{true: "yes", false: "no"}[x]
	case time.Time:
		return x.Format("15:04")
	}
	return fmt.Sprint(v)
}

// plain turns a value into text for URLs, headers and transfer targets.
func plain(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case time.Time:
		return x.Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}

// renderMode says how a template's values become text.
type renderMode int

const (
	renderSpeech renderMode = iota // numbers in words, in the language
	renderPlain                    // values as they are
	renderURL                      // values query-escaped
)

// render fills a template. shown is the same text with sensitive values replaced, for logs,
// events and the simulator; secret says whether any were.
func (r *run) render(t *template, lang string, mode renderMode) (text, shown string, secret bool, err error) {
	var b, s strings.Builder
	for _, part := range t.parts {
		if part.e == nil {
			b.WriteString(part.lit)
			s.WriteString(part.lit)
			continue
		}
		v, err := r.eval(part.e)
		if err != nil {
			return "", "", false, err
		}
		var out string
		switch mode {
		case renderSpeech:
			out = spoken(v, lang)
		case renderPlain:
			out = plain(v)
		case renderURL:
			out = url.QueryEscape(plain(v))
		}
		b.WriteString(out)
		if r.readsSensitive(part.e) {
			s.WriteString(redacted)
			secret = true
		} else {
			s.WriteString(out)
		}
	}
	return b.String(), s.String(), secret, nil
}

// Redacted is what a sensitive value, and every value computed from one, shows as.
const Redacted = "[redacted]"

const redacted = Redacted

func (r *run) readsSensitive(e *expression) bool {
	for _, ref := range e.refs {
		if v := r.flow.vars[ref]; v != nil && v.sensitive {
			return true
		}
	}
	return false
}

// luhn checks a digit string's Luhn check digit (ISO/IEC 7812-1 Annex B).
func luhn(s string) bool {
	if len(s) < 2 {
		return false
	}
	sum := 0
	double := false
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		d := int(c - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}
