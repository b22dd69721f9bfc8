package customers

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"github.com/redis/go-redis/v9"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hotline-cc/hotline/internal/redact"
	"github.com/hotline-cc/hotline/recordings"
	"github.com/hotline-cc/hotline/schedule"
)

// Store is the customer store over database/sql. It is safe for concurrent use, and several
// hotline nodes may share one PostgreSQL store.
type Store struct {
	db      *sql.DB
	d       dialect
	stmts   *stmtCache
	wmu     *sync.Mutex  // SQLite: the database's one write lock, taken in this process (nil on PostgreSQL)
	commits *groupCommit // contact writes, many per transaction
	stopWAL func()       // SQLite: ends the write-ahead log's checkpoints (walcheckpoint.go)
	node    string       // this node's name, on the contacts it opens
	log     *slog.Logger
	now     func() time.Time
	rec     *recordings.Store
	policy  CallbackPolicy
	limiter Limiter
	hours   map[string]*schedule.Hours // queue -> opening hours for callbacks
	sched   map[string]schedule.Schedule
	retain  time.Duration // recordings; 0 = forever
	hooks   bool          // write webhook events to the outbox
	lease   time.Duration // how long a dialing callback is held by its node
	qlease  time.Duration // how long a node's claim on a callback it queued lasts unless renewed
	upTo    int           // tests: migrate no further than this version (0 = all)
	workDue time.Duration // a missed contact's work item is due this long after it
	notify  chan struct{} // a new outbox row was committed
	closers []io.Closer
	erased  []func(ctx context.Context, customerID string) error // more to remove on Erase (rendered prompts)
}

// Config is the store as the configuration file describes it: where the data is, the
// callback rules, the queues' opening hours, retention and webhook events. The wiring fills it.
type Config struct {
	DSN           string                       // "" = SQLite at <DataDir>/hotline.db, "sqlite:PATH", or "postgres://..."
	DataDir       string                       // home of the default SQLite file and recordings directory
	RecordingsDir string                       // voicemail files; "" = <DataDir>/recordings
	RedisAddr     string                       // host:port of Redis shared by every node's rate limits; "" = in this process
	Callbacks     *CallbackPolicy              // nil = DefaultCallbackPolicy()
	Schedules     map[string]schedule.Schedule // queue -> opening hours; callbacks are placed only inside them
	Retention     time.Duration                // keep recordings this long; 0 = forever
	WebhookEvents bool                         // write webhook events to the outbox for a Deliverer
	// Node names this hotline node on the contacts it opens, so that after a crash it closes
	// only its own calls (RecoverContacts) on a PostgreSQL store shared with other nodes.
	// "" = the host name. Keep it stable across restarts (a StatefulSet pod name, not a
	// container ID).
	Node string
	// WorkDue is how long after a contact was missed its work item is due (worklist.due_within);
	// 0 = DefaultWorkDue.
	WorkDue time.Duration
}

// Option configures a Store beyond its Config (and overrides it).
type Option func(*Store)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(s *Store) { s.log = l.With("component", "customers") }
}

// WithClock sets the clock for every time the store writes (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithRecordings sets where voicemail files go (default <dataDir>/recordings).
func WithRecordings(r *recordings.Store) Option { return func(s *Store) { s.rec = r } }

// WithCallbackPolicy sets the callback rules: number ranges, rate limits, attempts.
func WithCallbackPolicy(p CallbackPolicy) Option { return func(s *Store) { s.policy = p } }

// WithLimiter sets the rate limiter (default: in-process; NewRedisLimiter shares it across nodes).
func WithLimiter(l Limiter) Option { return func(s *Store) { s.limiter = l } }

// WithQueueSchedules sets each queue's opening hours: callbacks are placed only inside them.
// A queue without one is always open.
func WithQueueSchedules(m map[string]schedule.Schedule) Option {
	return func(s *Store) { s.sched = m }
}

// WithRetention keeps recordings this long (0 = forever).
func WithRetention(d time.Duration) Option { return func(s *Store) { s.retain = d } }

// WithWebhookEvents makes the store write webhook events (new tickets, missed contacts,
// erasures) to the outbox for a Deliverer. Off, nothing is queued.
func WithWebhookEvents(on bool) Option { return func(s *Store) { s.hooks = on } }

// WithNode sets the node name written on the contacts this store opens (default
// Config.Node, else the host name); see Config.Node.
func WithNode(name string) Option { return func(s *Store) { s.node = name } }

// WithErased adds what else Erase must remove of a customer outside the store, such as the
// prompts rendered with their name (prompts.Library.ForgetCustomer); an error makes Erase
// fail after the store's part is done (erase again to retry).
func WithErased(fn func(ctx context.Context, customerID string) error) Option {
	return func(s *Store) { s.erased = append(s.erased, fn) }
}

// WithWorkDue sets how long after a contact was missed its work item is due (default
// Config.WorkDue, else DefaultWorkDue).
func WithWorkDue(d time.Duration) Option { return func(s *Store) { s.workDue = d } }

// WithDialingLease sets how long a callback stays "dialing" for the node that started it
// before another node may take it over (default 5 minutes).
func WithDialingLease(d time.Duration) Option { return func(s *Store) { s.lease = d } }

// WithQueueLease sets how long a node's claim on a callback it holds queued lasts unless
// renewed (default DefaultQueueLease); the holder renews at a third of it (callbacks.Dialer).
// A node that dies stops renewing, and after the lease another node queues the callback.
// Nodes' clocks must agree to well within it.
func WithQueueLease(d time.Duration) Option { return func(s *Store) { s.qlease = d } }

// DefaultQueueLease is how long a callback's queue claim lasts unless renewed.
const DefaultQueueLease = 30 * time.Second

// Open opens the store cfg describes and runs its migrations; opts are applied after cfg.
// Rate limits are kept in Redis when cfg.RedisAddr is set (unless WithLimiter says
// otherwise), in this process when not.
func Open(ctx context.Context, cfg Config, opts ...Option) (*Store, error) {
	s := &Store{
		log: slog.Default().With("component", "customers"), now: time.Now,
		policy: DefaultCallbackPolicy(), sched: cfg.Schedules, retain: cfg.Retention, hooks: cfg.WebhookEvents,
		lease: 5 * time.Minute, qlease: DefaultQueueLease, notify: make(chan struct{}, 1), node: cfg.Node, workDue: cfg.WorkDue,
	}
	if cfg.Callbacks != nil {
		s.policy = *cfg.Callbacks
	}
	if s.node == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("customers: no store node name and no host name: %w", err)
		}
		s.node = h
	}
	for _, o := range opts {
		o(s)
	}
	if s.qlease <= 0 {
		s.qlease = DefaultQueueLease
	}
	s.hours = map[string]*schedule.Hours{}
	for q, sc := range s.sched {
		h, err := sc.Compile()
		if err != nil {
			return nil, fmt.Errorf("customers: queue %s: %w", q, err)
		}
		s.hours[q] = h
	}
	if s.rec == nil {
		dir := cfg.RecordingsDir
		if dir == "" {
			if cfg.DataDir == "" {
				return nil, errors.New("customers: no data directory for recordings")
			}
			dir = filepath.Join(cfg.DataDir, "recordings")
		}
		r, err := recordings.New(dir)
		if err != nil {
			return nil, err
		}
		s.rec = r
	}
	if s.limiter == nil && cfg.RedisAddr != "" {
		rdb := redis.NewClient(&redis.Options{Addr: cfg.RedisAddr})
		s.limiter = NewRedisLimiter(rdb, "hotline:")
		s.closers = append(s.closers, rdb)
	}
	if s.limiter == nil {
		s.limiter = NewMemoryLimiter(s.now)
	}
	if err := s.open(ctx, cfg.DSN, cfg.DataDir); err != nil {
		for _, c := range s.closers {
			c.Close()
		}
		return nil, err
	}
	return s, nil
}

// open connects to the database dsn names and migrates it.
func (s *Store) open(ctx context.Context, dsn, dataDir string) error {
	var err error
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		s.d = postgres
		s.db, err = sql.Open("pgx", dsn)
		if err == nil {
			s.db.SetMaxOpenConns(10)
			s.db.SetConnMaxIdleTime(5 * time.Minute)
		}
	case dsn == "" || strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			if dataDir == "" {
				return errors.New("customers: no data directory for the SQLite database")
			}
			path = filepath.Join(dataDir, "hotline.db")
		}
		if strings.ContainsAny(path, "?#") || path == ":memory:" {
			return fmt.Errorf("customers: store.dsn: %q is not a database file path", path)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return fmt.Errorf("customers: %w", err)
		}
		s.d = sqliteDialect
		s.db, err = sql.Open("sqlite", sqliteDSN(path))
		if err == nil {
			s.db.SetMaxOpenConns(4)
		}
		s.wmu = new(sync.Mutex)
	default:
		return fmt.Errorf("customers: store.dsn %q: use postgres://..., sqlite:PATH or \"\" for SQLite in the data directory", redactDSN(dsn))
	}
	if err != nil {
		return fmt.Errorf("customers: %w", err)
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return fmt.Errorf("customers: connecting to %s: %w", redactDSN(dsn), err)
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return err
	}
	s.stmts = newStmtCache(s.db, s.d)
	writers := 1
	if s.d == postgres {
		writers = 4
	}
	s.commits = newGroupCommit(s, writers)
	if s.d == sqliteDialect {
		s.stopWAL = s.startWALCheckpoints()
	}
	return nil
}

// Close commits the contact writes already queued, then closes the database (and the Redis
// client Open made). Writes after Close fail with ErrClosed.
func (s *Store) Close() error {
	s.commits.close()
	if s.stopWAL != nil {
		s.stopWAL() // closing the last connection checkpoints what is left
	}
	errs := []error{s.stmts.close(), s.db.Close()}
	for _, c := range s.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// Recordings is the store's recordings directory, for streaming downloads.
func (s *Store) Recordings() *recordings.Store { return s.rec }

// Node is this node's name, on the contacts it opens, the agent states it saves and the
// callbacks it claims.
func (s *Store) Node() string { return s.node }

// QueueLease is how long a claim on a queued callback lasts unless renewed (WithQueueLease).
func (s *Store) QueueLease() time.Duration { return s.qlease }

// Dialect is "sqlite" or "postgres".
func (s *Store) Dialect() string { return string(s.d) }

// Durability: SQLite runs in WAL mode with synchronous=FULL, so every COMMIT fsyncs the WAL
// before it returns: a committed voicemail, callback or ticket survives the process being
// killed and also a power cut. (synchronous=NORMAL would survive SIGKILL but not power loss:
// in WAL mode it fsyncs only at checkpoints.) FULL stays: the contact writes of the call path,
// the only writes at a call's rate, share one commit and its fsync (groupCommit), so the
// fsync is paid per batch, not per call. _txlock makes every transaction BEGIN IMMEDIATE, so
// a writer never fails to upgrade a read lock; writers of this process queue on the store's
// write mutex (Store.wmu), and busy_timeout is left for another process on the same file.
// temp_store=MEMORY keeps the sub-journal of a group commit's savepoints in memory: on file it
// spilled past 64 KiB, and its pwrites were a fifth of a batch's time. It holds the pages one
// write changed, and is emptied as its savepoint is released. secure_delete zeroes what a
// delete or update frees, so an erased customer's data does not linger in free pages (Erase);
// its cost is within the noise of the call path's commits (BenchmarkContactBeginFinish/sqlite,
// -cpu 1, 3000 calls, 3 runs: 435-477 µs per call with it, 391-537 µs without).
// wal_autocheckpoint(0): the store checkpoints the log itself, off the call path
// (walcheckpoint.go).
func sqliteDSN(path string) string {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)", "temp_store(MEMORY)", "secure_delete(1)", "wal_autocheckpoint(0)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// redactDSN masks the DSN's password, also where the URL does not parse (a password with an
// unescaped # or %), which url.Parse-based masking gave back whole.
func redactDSN(dsn string) string { return redact.DSN(dsn) }

// dialect is what differs between the two databases.
type dialect string

const (
	sqliteDialect dialect = "sqlite"
	postgres      dialect = "postgres"
)

// rebind turns ? placeholders into $1, $2 ... for PostgreSQL (outside quoted text).
func (d dialect) rebind(q string) string {
	if d != postgres || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	n, quoted := 0, false
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c == '\'' {
			quoted = !quoted
		}
		if c == '?' && !quoted {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// forUpdate locks selected rows in PostgreSQL; SQLite's BEGIN IMMEDIATE already holds the
// database's write lock for the whole transaction.
func (d dialect) forUpdate() string {
	if d == postgres {
		return " FOR UPDATE"
	}
	return ""
}

func (d dialect) blob() string {
	if d == postgres {
		return "BYTEA"
	}
	return "BLOB"
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// run executes queries with the dialect's placeholders, prepared once (stmts), inside a
// transaction or not.
type run struct {
	q      querier
	tx     *sql.Tx     // inside a transaction: its statements are the cached ones bound to it
	stmts  *stmtCache  // nil: queries are sent as they are (migrations)
	wmu    *sync.Mutex // SQLite outside a transaction: exec is a write, under the write lock
	d      dialect
	outbox *bool // set when an outbox row was written in this transaction
}

func (r run) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if r.wmu != nil {
		r.wmu.Lock()
		defer r.wmu.Unlock()
	}
	if st := r.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return r.q.ExecContext(ctx, r.d.rebind(query), args...)
}

func (r run) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := r.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return r.q.QueryContext(ctx, r.d.rebind(query), args...)
}

func (r run) row(ctx context.Context, query string, args ...any) *sql.Row {
	if st := r.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return r.q.QueryRowContext(ctx, r.d.rebind(query), args...)
}

// stmt is query's prepared statement, bound to the transaction if there is one; nil: send
// the query as it is.
func (r run) stmt(ctx context.Context, query string) *sql.Stmt {
	if r.stmts == nil {
		return nil
	}
	st := r.stmts.get(ctx, query, r.tx != nil)
	if st == nil || r.tx == nil {
		return st
	}
	return r.tx.StmtContext(ctx, st)
}

func (s *Store) r() run { return run{q: s.db, stmts: s.stmts, wmu: s.wmu, d: s.d} }

// inTx runs fn in a transaction and commits it; fn's error rolls it back. On SQLite it holds
// the write mutex throughout, so this process's writers wait their turn in order instead of
// in SQLite's busy handler, which sleeps up to 100 ms between tries. fn must not write
// through s.r() or through another transaction: that would wait for itself.
func (s *Store) inTx(ctx context.Context, fn func(r run) error) error {
	if s.wmu != nil {
		s.wmu.Lock()
		defer s.wmu.Unlock()
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("customers: begin: %w", err)
	}
	wrote := false
	if err := fn(run{q: tx, tx: tx, stmts: s.stmts, d: s.d, outbox: &wrote}); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("customers: commit: %w", err)
	}
	if wrote {
		s.outboxWritten()
	}
	return nil
}

// outboxWritten wakes the webhook deliverer: a committed transaction wrote an outbox row.
func (s *Store) outboxWritten() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// inTxRetry is inTx retried when a concurrent writer took a unique key (an identity, the
// live callback of a queue) first; the retry finds that writer's row. Only PostgreSQL needs
// it: SQLite serializes writers.
func (s *Store) inTxRetry(ctx context.Context, fn func(r run) error) error {
	err := s.inTx(ctx, fn)
	for i := 0; i < 3 && retryable(err); i++ {
		err = s.inTx(ctx, fn)
	}
	return err
}

// retryable: a concurrent writer took a unique key (an identity, the live callback of a
// queue) first; run again, the write finds that writer's row.
func retryable(err error) bool {
	var taken *IdentityTakenError
	return isUnique(err) || errors.As(err, &taken)
}

func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

//go:embed migrations/*.sql
var migrations embed.FS

// migrate applies the embedded migrations not yet recorded in schema_migrations, each in its
// own transaction. On PostgreSQL an advisory lock keeps two nodes starting together apart.
func (s *Store) migrate(ctx context.Context) error {
	names, err := migrations.ReadDir("migrations")
	if err != nil {
		return err
	}
	sort.Slice(names, func(i, j int) bool { return names[i].Name() < names[j].Name() })
	for _, e := range names {
		v, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("customers: migration %s: name must start with its number", e.Name())
		}
		if s.upTo > 0 && v > s.upTo {
			break
		}
		body, _ := migrations.ReadFile("migrations/" + e.Name())
		sqlText := strings.ReplaceAll(string(body), "{{blob}}", s.d.blob())
		err = s.inTx(ctx, func(r run) error {
			if s.d == postgres {
				if _, err := r.exec(ctx, "SELECT pg_advisory_xact_lock(74068)"); err != nil {
					return err
				}
			}
			if _, err := r.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
				return err
			}
			var n int
			if err := r.row(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", v).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			for _, stmt := range splitSQL(sqlText) {
				if _, err := r.exec(ctx, stmt); err != nil {
					return fmt.Errorf("%w\nin: %s", err, stmt)
				}
			}
			if up := upgrades[v]; up != nil {
				if err := up(ctx, s, r); err != nil {
					return err
				}
			}
			_, err := r.exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				v, e.Name(), ms(s.now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("customers: migration %s: %w", e.Name(), err)
		}
	}
	return nil
}

// upgrades are the steps of a migration that SQL alone cannot take portably, run in its
// transaction after its SQL.
var upgrades = map[int]func(ctx context.Context, s *Store, r run) error{
	9: splitAgentStates,
}

// splitSQL splits a migration into statements at semicolons ending a line, dropping comments.
func splitSQL(text string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimRight(line, " \t\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(line, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, strings.TrimSpace(cur.String()))
	}
	return out
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// ms is a time as stored: Unix milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

// msOrNil stores a zero time as NULL.
func msOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
