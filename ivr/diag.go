package ivr

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Diagnostic is one problem in a flow file, at the line and column (both 1-based, columns
// counted in characters) where a person would fix it.
type Diagnostic struct {
	File string
	Line int
	Col  int
	Msg  string
}

// String is the form every tool prints: "file:line:col: message".
func (d Diagnostic) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", d.File, d.Line, d.Col, d.Msg)
}

// Diagnostics is every problem found in a set of flow files, sorted by file and position.
// As an error it reads as one diagnostic a line.
type Diagnostics []Diagnostic

func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// In keeps the diagnostics of one file.
func (ds Diagnostics) In(file string) Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.File == file {
			out = append(out, d)
		}
	}
	return out
}

func (ds Diagnostics) sorted() Diagnostics {
	slices.SortStableFunc(ds, func(a, b Diagnostic) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col), cmp.Compare(a.Msg, b.Msg))
	})
	return slices.CompactFunc(ds, func(a, b Diagnostic) bool { return a == b })
}
