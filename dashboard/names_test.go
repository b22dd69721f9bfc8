package dashboard

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/reports"
)

// A counter has one JSON name in the API (queues, wallboard) and in the reports: each field
// of acd.Counters is given a value of its own, and wherever the two views show that value
// they must call it the same. The reports' own figures (callbacks booked, completed, failed,
// voicemails, repeats) get values no counter has, so they may not reuse a counter's name.
func TestCountersHaveOneJSONNameInTheAPIAndTheReports(t *testing.T) {
	var c acd.Counters
	v := reflect.ValueOf(&c).Elem()
	for i := range v.NumField() {
		switch f := v.Field(i); f.Interface().(type) {
		case int64:
			f.SetInt(int64(i + 1))
		case time.Duration:
			f.SetInt(int64(time.Duration(i+1) * time.Second))
		}
	}
	row := reports.Row{Queue: "q", Counters: c, KPIs: c.KPIs(), CallbacksBooked: 1001, CallbacksCompleted: 1002,
		CallbacksFailed: 1003, Voicemails: 1004, RepeatBase: 1005, Repeats: 1006}
	api, rep := numbers(t, countersView(c)), numbers(t, row.JSON("total"))
	apiKPIs := numbers(t, kpiView(c.KPIs()))
	for name := range apiKPIs { // ratios and means, compared by name below
		delete(rep, name)
	}
	shared := 0
	for name, x := range api {
		for rname, y := range rep {
			if x == y && rname != name {
				t.Errorf("the value %v is %q in the API and %q in the reports", x, name, rname)
			}
		}
		if y, ok := rep[name]; ok {
			shared++
			if x != y {
				t.Errorf("%q is %v in the API and %v in the reports: two meanings, one name", name, x, y)
			}
		}
	}
	if shared < 10 {
		t.Errorf("only %d counters in common between the API and the reports; the test lost its subject", shared)
	}
	repKPIs := numbers(t, row.JSON("total"))
	for name := range apiKPIs {
		if _, ok := repKPIs[name]; !ok && name != "occupancy" { // occupancy needs agent history the store lacks
			t.Errorf("KPI %q of the API is not in the reports", name)
		}
	}
}

// numbers is the numeric fields of v's JSON object, by name.
func numbers(t *testing.T, v any) map[string]float64 {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for k, x := range m {
		if f, ok := x.(float64); ok && !slices.Contains([]string{"start", "end"}, k) {
			out[k] = f
		}
	}
	return out
}
