package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hotline-cc/hotline/center"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/customers"
)

// hotline customer export writes everything as JSON and audits it; erase removes the data,
// audits it, and a second export shows none of it.
func TestCustomerExportAndErase(t *testing.T) {
	dir := t.TempDir()
	cfg, _ := config.Load("")
	cfg.DataDir = dir
	ctx := context.Background()
	store, err := center.OpenStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := store.CreateCustomer(ctx, customers.Customer{Name: "Zhuang Meiling", Identities: []customers.Identity{
		{Kind: customers.KindPhone, Value: "+8613812345678"}, {Kind: customers.KindEmail, Value: "zml@example.com"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.AddContact(ctx, customers.Contact{CustomerID: c.ID, Address: "+8613812345678", Queue: "support", Outcome: customers.OutcomeAnswered}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateTicket(ctx, customers.NewTicket{CustomerID: c.ID, Subject: "refund for Zhuang", Note: "mail zml@example.com"}); err != nil {
		t.Fatal(err)
	}
	store.Close()

	cli := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(append([]string{"customer"}, append(args, "--data-dir", dir)...), &out, &errb)
		return code, out.String(), errb.String()
	}
	code, out, errs := cli("export", c.ID)
	if code != 0 {
		t.Fatalf("export: %d %s", code, errs)
	}
	var x struct {
		Customer struct {
			ID         string
			Name       string
			Identities []struct{ Kind, Value string }
		}
		Timeline []struct{ Kind string }
		Tickets  []struct {
			Subject string
			Notes   []struct{ Body string }
		}
	}
	if err := json.Unmarshal([]byte(out), &x); err != nil {
		t.Fatalf("export is not JSON: %v\n%s", err, out)
	}
	if x.Customer.ID != c.ID || x.Customer.Name != "Zhuang Meiling" || len(x.Customer.Identities) != 2 || len(x.Timeline) != 2 ||
		len(x.Tickets) != 1 || len(x.Tickets[0].Notes) != 1 {
		t.Errorf("export: %s", out)
	}
	// A greeting rendered with the customer's name, where the running hotline caches it.
	greeting := filepath.Join(dir, "say-cache", "customers", c.ID, "en-us", "greeting.wav")
	if err := os.MkdirAll(filepath.Dir(greeting), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(greeting, []byte("Welcome back, Zhuang Meiling"), 0o640); err != nil {
		t.Fatal(err)
	}
	if code, out, _ = cli("erase", c.ID); code != 0 || !strings.Contains(out, "Erased customer "+c.ID) {
		t.Fatalf("erase: %d %s", code, out)
	}
	if _, err := os.Stat(greeting); !os.IsNotExist(err) {
		t.Errorf("the greeting rendered with the name survived the erasure: %v", err)
	}
	if code, out, _ = cli("export", c.ID); code != 0 {
		t.Fatalf("export after erase: %d", code)
	}
	for _, v := range []string{"Zhuang", "zml@example.com", "13812345678", "refund"} {
		if strings.Contains(out, v) {
			t.Errorf("the export after the erasure holds %q", v)
		}
	}
	// Both are on the audit trail, as done from the command line, and hold nothing personal.
	store, err = center.OpenStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	list, _, err := store.ListAudit(ctx, customers.AuditFilter{Action: "customer.", Object: c.ID}, customers.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range list {
		got = append(got, a.Action+" "+a.Detail["via"].(string))
		if !strings.HasPrefix(a.Actor, "os:") || a.Role != "admin" || a.From != "cli" {
			t.Errorf("actor %q role %q from %q, want os:<user>, admin, cli", a.Actor, a.Role, a.From)
		}
	}
	if strings.Join(got, ",") != "customer.export cli,customer.erase cli,customer.export cli" {
		t.Errorf("audit %v", got)
	}

	if code, _, errs = cli("export", "nobody"); code != 1 || !strings.Contains(errs, "not found") {
		t.Errorf("unknown customer: %d %s", code, errs)
	}
	if code, _, errs = cli("erase"); code != 2 || !strings.Contains(errs, "give one customer ID") {
		t.Errorf("no ID: %d %s", code, errs)
	}
	if code, _, _ = cli("forget", c.ID); code != 2 {
		t.Errorf("unknown subcommand: %d", code)
	}
}
