package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/center"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/schedule"
)

// The configuration file stops at the wiring: these check that what center/options.go hands
// each package is what the file says.

// A schedule that does not compile keeps the flows' catalog from building, naming its key
// from the top of the file; the good schedules are still in the catalog.
func TestFlowCatalogNamesABadScheduleAndKeepsTheGoodOnes(t *testing.T) {
	cfg := config.Config{Schedules: map[string]schedule.Schedule{
		"late": {TimeZone: "America/New_York", Weekly: map[string][]string{"fri": {"20:00-24:00"}}},
	}}
	cat, err := center.FlowCatalog(cfg, nil)
	if err != nil || cat.Schedules["late"] == nil {
		t.Fatalf("catalog %+v, %v", cat, err)
	}
	cfg.Schedules["support"] = schedule.Schedule{TimeZone: "UTC", Weekly: map[string][]string{"mon": {"9:00-25:00"}}}
	cat, err = center.FlowCatalog(cfg, nil)
	if want := `schedules.support.weekly.mon[0]: "9:00-25:00" is not a range like 09:00-18:00`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	if cat.Schedules["late"] == nil || cat.Schedules["support"] != nil {
		t.Error("the good schedule should still be in the catalog, the bad one not")
	}
}

// The sample configuration's catalog: its queues, schedule, voices and an empty transfer list.
func TestFlowCatalogOfTheSample(t *testing.T) {
	cat, dir, err := center.LoadFlowCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cat.Queues, ","); got != "support,sales,billing" {
		t.Errorf("queues %s", got)
	}
	if got := strings.Join(cat.Languages, ","); got != "en,zh" {
		t.Errorf("languages %s", got)
	}
	if cat.Schedules["office"] == nil || len(cat.Transfer) != 0 || dir != "" || cat.Prompts == nil || !cat.Prompts.Has("beep") {
		t.Errorf("catalog %+v, flows dir %q", cat, dir)
	}
	if _, _, err := center.LoadFlowCatalog("no/such/hotline.yaml"); err == nil {
		t.Error("a missing configuration file was accepted")
	}
}

// With no callbacks section the store gets customers' default policy, and the rates the
// file writes as 3/h and 10/d arrive parsed.
func TestStoreConfigCarriesTheFile(t *testing.T) {
	sc, err := center.StoreConfig(config.Default())
	if err != nil {
		t.Fatal(err)
	}
	if want := customers.DefaultCallbackPolicy(); sc.Callbacks == nil || !reflect.DeepEqual(*sc.Callbacks, want) {
		t.Errorf("default policy %+v, customers' default %+v", sc.Callbacks, want)
	}
	cfg, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Redis.Addr, cfg.Webhooks.URL = "127.0.0.1:6379", "https://helpdesk.example/hook"
	if sc, err = center.StoreConfig(cfg); err != nil {
		t.Fatal(err)
	}
	p := sc.Callbacks
	if p.Region != "CN" || p.PerNumber != (customers.Rate{Count: 3, Per: time.Hour}) || p.PerCaller != (customers.Rate{Count: 10, Per: 24 * time.Hour}) ||
		p.MaxAttempts != 3 || p.Backoff != 10*time.Minute || strings.Join(p.Denied, ",") != "+86168,+86900" {
		t.Errorf("policy %+v", *p)
	}
	if sc.DataDir != "data" || sc.RecordingsDir != "data/recordings" || sc.Retention != 90*24*time.Hour ||
		sc.RedisAddr != "127.0.0.1:6379" || !sc.WebhookEvents {
		t.Errorf("store %+v", sc)
	}
	if len(sc.Schedules) != 3 || !reflect.DeepEqual(sc.Schedules["billing"], cfg.Schedules["office"]) {
		t.Errorf("queue schedules %+v", sc.Schedules)
	}
	cfg.Callbacks.PerCallerLimit = "lots"
	if _, err := center.StoreConfig(cfg); err == nil || !strings.Contains(err.Error(), `callbacks.per_caller_limit: "lots" is not a rate like 3/h`) {
		t.Errorf("bad rate: %v", err)
	}
}

// Report thresholds come from each queue, with the ACD's defaults where the file sets none.
func TestReportRulesOfTheQueues(t *testing.T) {
	cfg, err := config.Parse("q.yaml", []byte("queues:\n  - name: a\n    service_level: 45s\n    wrap_up: 7s\n  - name: b\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := center.ReportRules(cfg)
	if len(r) != 2 || r["a"].ServiceLevel != 45*time.Second || r["a"].WrapUp != 7*time.Second ||
		r["a"].ShortAbandon != 5*time.Second || r["b"].ServiceLevel != 20*time.Second {
		t.Errorf("rules %+v", r)
	}
}
