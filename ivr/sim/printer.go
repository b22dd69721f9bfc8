package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"

	"github.com/hotline-cc/hotline/call"
	"github.com/hotline-cc/hotline/ivr"
)

var (
	pressedRE     = regexp.MustCompile(`^pressed \S+$`) // the channel already showed the key
	jsonMarshal   = json.Marshal
	discardLogger = slog.New(slog.NewTextHandler(io.Discard, nil))
)

// Printer writes a simulated call as it happens: each node, what the caller hears and
// presses, the variables set and the exit taken. It is an ivr.Observer; give its Action
// method to Channel.OnAction.
type Printer struct {
	w     io.Writer
	entry string
}

// NewPrinter prints to w; nodes of flow entry are shown bare, others as flow/node.
func NewPrinter(w io.Writer, entry string) *Printer { return &Printer{w: w, entry: entry} }

func (p *Printer) name(flow, node string) string {
	if flow == p.entry {
		return node
	}
	return flow + "/" + node
}

// NodeStart prints the node's heading.
func (p *Printer) NodeStart(e ivr.Event) {
	fmt.Fprintf(p.w, "%s · %s\n", p.name(e.Flow, e.Node), e.Step)
}

// Action prints what happened on the channel.
func (p *Printer) Action(a Action) {
	switch a.Kind {
	case "play":
		for _, pr := range a.Prompts {
			fmt.Fprintf(p.w, "    %s\n", DescribePrompt(pr))
		}
	case "press":
		fmt.Fprintf(p.w, "    caller presses %s\n", a.Digits)
	case "timeout":
		fmt.Fprintf(p.w, "    caller presses nothing (%s)\n", a.Detail)
	case "hangup":
		fmt.Fprintf(p.w, "    caller hangs up\n")
	case "record":
		fmt.Fprintf(p.w, "    records %s\n", a.Detail)
	case "bridge":
		fmt.Fprintf(p.w, "    bridged to %s\n", a.Detail)
	}
}

// DescribePrompt is one played prompt as the simulator shows it.
func DescribePrompt(pr call.Prompt) string {
	switch {
	case strings.HasPrefix(pr.File, "say:"):
		text := pr.Text
		if text == "" {
			text = "[redacted]"
		}
		return fmt.Sprintf("says [%s] %q", strings.TrimPrefix(pr.File, "say:"), text)
	case strings.HasPrefix(pr.File, "play:"):
		return "plays " + strings.TrimPrefix(pr.File, "play:")
	case pr.File == "" && pr.Silence > 0:
		return "silence " + pr.Silence.String()
	}
	return "plays " + pr.Text
}

// Observe prints the end of a node.
func (p *Printer) Observe(e ivr.Event) {
	if e.Detail != "" && !pressedRE.MatchString(e.Detail) {
		fmt.Fprintf(p.w, "    · %s\n", e.Detail)
	}
	for _, v := range e.Set {
		fmt.Fprintf(p.w, "    set %s = %s\n", v.Name, v.Value)
	}
	if e.Err != "" {
		fmt.Fprintf(p.w, "    error: %s\n", e.Err)
	}
	switch {
	case e.Exit == "goto":
		fmt.Fprintf(p.w, "    goto → %s\n", e.Next)
	case e.Exit == "end":
		fmt.Fprintf(p.w, "    end: the flow hangs up\n")
	case e.Next != "":
		fmt.Fprintf(p.w, "    exit %s → %s\n", e.Exit, e.Next)
	case e.Exit == "hangup":
		fmt.Fprintf(p.w, "    exit hangup\n")
	default:
		fmt.Fprintf(p.w, "    exit %s (not wired: the call ends)\n", e.Exit)
	}
}

// Summary prints how the call ended and the path it took.
func (p *Printer) Summary(res ivr.Result) {
	var extra []string
	if res.Queue != "" {
		extra = append(extra, "queue "+res.Queue)
	}
	if res.Agent != "" {
		extra = append(extra, "agent "+res.Agent)
	}
	if res.Ticket != "" {
		extra = append(extra, "ticket "+res.Ticket)
	}
	if res.Callback != "" {
		extra = append(extra, "callback "+res.Callback)
	}
	o := string(res.Outcome)
	if len(extra) > 0 {
		o += " (" + strings.Join(extra, ", ") + ")"
	}
	fmt.Fprintf(p.w, "\noutcome: %s\npath: %s\n", o, strings.Join(res.Nodes(), " → "))
	if res.Err != nil && res.Outcome == ivr.OutcomeError {
		fmt.Fprintf(p.w, "error: %v\n", res.Err)
	}
}
