package customers

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/internal/fakeclock"
	"github.com/hotline-cc/hotline/internal/testenv"
	"github.com/hotline-cc/hotline/recordings"
	"github.com/hotline-cc/hotline/schedule"
)

// The conformance suite: every test here runs against SQLite and against PostgreSQL, each on
// a database of its own (a temporary file; a schema made for the test and dropped after).

var conformance = []struct {
	name string
	fn   func(e *env)
}{
	{"Migrations", testMigrations},
	{"CallerIdentities", testCallerIdentities},
	{"WithheldCallersStayApart", testWithheld},
	{"LinkAccount", testLinkAccount},
	{"SearchByName", testSearchByName},
	{"Merge", testMerge},
	{"MergeRecorded", testMergeRecorded},
	{"IdentitiesCustomer", testIdentitiesCustomer},
	{"Contacts", testContacts},
	{"MissedContactWebhook", testMissedWebhook},
	{"ListContactsFilterAndPages", testListContacts},
	{"CallbackKeepsPlaceAndUpdates", testCallbackUpdates},
	{"CallbackRefusals", testCallbackRefusals},
	{"CallbackRateLimits", testCallbackRateLimits},
	{"CallbackScheduledSlots", testCallbackSlots},
	{"CallbackRetriesThenTicket", testCallbackRetries},
	{"CallbackDialingLease", testCallbackLease},
	{"CallbackClaims", testCallbackClaims},
	{"CallbackClaimNotDue", testCallbackClaimNotDue},
	{"Voicemail", testVoicemail},
	{"VoicemailRollsBack", testVoicemailRollback},
	{"Tickets", testTickets},
	{"Timeline", testTimeline},
	{"WebhookDeliveryRetries", testWebhookDelivery},
	{"WebhookOutboxSurvivesRestart", testWebhookRestart},
	{"WebhookRun", testWebhookRun},
	{"WebhookTwoDeliverers", testWebhookTwoDeliverers},
	{"WebhookHandover", testWebhookHandover},
	{"Retention", testRetention},
	{"Erase", testErase},
	{"EraseEverything", testEraseEverything},
	{"EraseIncomplete", testEraseIncomplete},
	{"Export", testExport},
	{"AgentStates", testAgentStates},
	{"AgentStatesUpgrade", testAgentStatesUpgrade},
	{"AgentStatesUpgradeBadBlob", testAgentStatesUpgradeBadBlob},
	{"Surveys", testSurveys},
	{"DashboardSessions", testSessions},
	{"Concurrent", testConcurrent},
	{"CallRecording", testCallRecording},
	{"RecoverRecordings", testRecoverRecordings},
	{"CallRecordingRetention", testCallRecordingRetention},
	{"Audit", testAudit},
	{"AuditTamper", testAuditTamper},
	{"AuditInserted", testAuditInserted},
	{"AuditLegacy", testAuditLegacy},
	{"AuditConcurrent", testAuditConcurrent},
	{"Dispositions", testDispositions},
	{"DispositionsListAndCount", testDispositionList},
	{"DispositionsOnTimelineAndErased", testDispositionErase},
	{"GroupCommit", testGroupCommit},
	{"GroupCommitClose", testGroupCommitClose},
	{"RecoverContacts", testRecoverContacts},
	{"Worklist", testWorklist},
	{"WorklistSources", testWorklistSources},
	{"SurveyScales", testSurveyScales},
}

func TestSQLite(t *testing.T) { runSuite(t, sqliteDB) }

func TestPostgres(t *testing.T) { runSuite(t, func(t *testing.T) string { return postgresDB(t) }) }

func runSuite(t *testing.T, db func(t *testing.T) string) {
	for _, c := range conformance {
		t.Run(c.name, func(t *testing.T) {
			c.fn(newEnv(t, db(t)))
		})
	}
}

// sqliteDB is "" (SQLite in the data directory).
func sqliteDB(t *testing.T) string { return "" }

// pgDSN is the test server; HOTLINE_TEST_POSTGRES overrides it.
func pgDSN() string {
	if v := os.Getenv("HOTLINE_TEST_POSTGRES"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// postgresDB makes a schema for one test and returns a DSN whose search_path is it.
func postgresDB(t testing.TB) string {
	t.Helper()
	testenv.Service(t, "postgres", "127.0.0.1:5432")
	var b [6]byte
	rand.Read(b[:])
	schema := "hotline_test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", pgDSN())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		testenv.Missing(t, "postgres at %s: %v", pgDSN(), err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	sep := "?"
	if strings.Contains(pgDSN(), "?") {
		sep = "&"
	}
	return pgDSN() + sep + "search_path=" + schema
}

var shanghai = mustLoc("Asia/Shanghai")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// monday10 is Monday 11 May 2026, 10:00 in Shanghai: the support queue is open.
var monday10 = time.Date(2026, 5, 11, 10, 0, 0, 0, shanghai)

var office = schedule.Schedule{
	TimeZone: "Asia/Shanghai",
	Weekly: map[string][]string{"mon": {"09:00-18:00"}, "tue": {"09:00-18:00"}, "wed": {"09:00-18:00"},
		"thu": {"09:00-18:00"}, "fri": {"09:00-18:00"}, "sat": {"10:00-16:00"}},
	Holidays: []string{"2026-10-01"},
}

func testPolicy() CallbackPolicy {
	return CallbackPolicy{
		Region: "CN", Allowed: []string{"+86"}, Denied: []string{"+86139990"},
		PerNumber: Rate{3, time.Hour}, PerCaller: Rate{10, 24 * time.Hour},
		MaxAttempts: 3, Backoff: 10 * time.Minute,
	}
}

type env struct {
	*testing.T
	ctx     context.Context
	s       *Store
	clk     *fakeclock.Clock
	dsn     string
	dataDir string
	rec     *recordings.Store
}

func newEnv(t *testing.T, dsn string) *env {
	e := &env{T: t, ctx: context.Background(), clk: fakeclock.New(monday10), dsn: dsn, dataDir: t.TempDir()}
	var err error
	e.rec, err = recordings.New(e.dataDir+"/recordings", recordings.WithClock(e.clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	e.s = e.open()
	return e
}

// open opens a store on the test's database; later options override the test defaults.
func (e *env) open(opts ...Option) *Store {
	e.Helper()
	base := []Option{
		WithLogger(testLog()), WithClock(e.clk.Now), WithRecordings(e.rec), WithCallbackPolicy(testPolicy()),
		WithLimiter(NewMemoryLimiter(e.clk.Now)),
		WithQueueSchedules(map[string]schedule.Schedule{"support": office}),
		WithRetention(90 * 24 * time.Hour), WithWebhookEvents(true),
	}
	s, err := Open(e.ctx, Config{DSN: e.dsn, DataDir: e.dataDir}, append(base, opts...)...)
	if err != nil {
		e.Fatalf("open %s store: %v", dialectName(e.dsn), err)
	}
	e.Cleanup(func() { s.Close() })
	return s
}

func dialectName(dsn string) string {
	if dsn == "" {
		return "sqlite"
	}
	return "postgres"
}

func (e *env) must(err error) {
	e.Helper()
	if err != nil {
		e.Fatal(err)
	}
}

// outbox lists the events waiting in the outbox, oldest first.
func (e *env) outbox() []string {
	e.Helper()
	rows, err := e.s.r().query(e.ctx, "SELECT event FROM outbox WHERE delivered_at IS NULL ORDER BY created_at, id")
	e.must(err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var ev string
		e.must(rows.Scan(&ev))
		out = append(out, ev)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// testLog keeps expected refusals and failed deliveries out of the test output; -v shows them.
func testLog() *slog.Logger {
	if testing.Verbose() {
		return slog.Default()
	}
	return slog.New(slog.DiscardHandler)
}
