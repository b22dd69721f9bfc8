package customers

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webhook headers.
const (
	HeaderSignature = "X-Hotline-Signature" // sha256=<hex HMAC-SHA256 of the raw body>
	HeaderEvent     = "X-Hotline-Event"
	HeaderDelivery  = "X-Hotline-Delivery" // the outbox row's ID; the same on every retry
)

// Sign is the X-Hotline-Signature value for a body: "sha256=" and the hex HMAC-SHA256.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature checks an X-Hotline-Signature header against the raw body, in constant
// time. For receivers of hotline's webhooks (and our tests).
func VerifySignature(secret string, body []byte, header string) error {
	got, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return fmt.Errorf("%w: header %q does not start with sha256=", ErrBadSignature, truncate(header, 20))
	}
	mac, err := hex.DecodeString(got)
	if err != nil || len(mac) != sha256.Size {
		return fmt.Errorf("%w: %q is not a hex SHA-256", ErrBadSignature, truncate(got, 20))
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	if !hmac.Equal(mac, m.Sum(nil)) {
		return ErrBadSignature
	}
	return nil
}

// ParseWebhook reads a delivery's body; unknown fields are ignored (newer senders may add some).
func ParseWebhook(body []byte) (Webhook, error) {
	var w Webhook
	if err := json.Unmarshal(body, &w); err != nil {
		return Webhook{}, fmt.Errorf("%w: webhook body: %v", ErrInvalid, err)
	}
	if w.ID == "" || w.Event == "" || w.CreatedAt.IsZero() {
		return Webhook{}, fmt.Errorf("%w: webhook body needs id, event and created_at", ErrInvalid)
	}
	return w, nil
}

// Doer sends an HTTP request; *http.Client is one.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Deliverer sends the outbox's webhooks: one POST per row, signed, retried with exponential
// backoff until the receiver answers 2xx. Rows live in the database, so deliveries survive a
// restart; several nodes may run deliverers on one PostgreSQL store: each row is leased to one
// sender at a time (a conditional UPDATE), no retry goes out before its backoff whichever
// node failed the last attempt, and a sender whose lease ran out mid-request (it stalled)
// does not write its outcome over the next sender's. A receiver still dedupes on the delivery
// ID: a sender that dies after the receiver accepted but before it recorded that is retried.
type Deliverer struct {
	s       *Store
	holder  string // names this deliverer's leases: its node and an ID of its own
	url     string
	secret  string
	client  Doer
	timeout time.Duration
	now     func() time.Time
	first   time.Duration // backoff after the first failure
	maxWait time.Duration // backoff ceiling
	poll    time.Duration
	batch   int
	log     *slog.Logger
}

// DelivererOption configures a Deliverer.
type DelivererOption func(*Deliverer)

// WithHTTPClient sets the HTTP client (default: an http.Client with the timeout).
func WithHTTPClient(c Doer) DelivererOption { return func(d *Deliverer) { d.client = c } }

// WithDeliveryTimeout bounds each POST (default 10s).
func WithDeliveryTimeout(t time.Duration) DelivererOption {
	return func(d *Deliverer) { d.timeout = t }
}

// WithDeliveryClock sets the deliverer's clock (default time.Now).
func WithDeliveryClock(now func() time.Time) DelivererOption {
	return func(d *Deliverer) { d.now = now }
}

// WithDeliveryBackoff sets the wait after the first failure and its ceiling (default 10s, 1h);
// the wait doubles after each failure.
func WithDeliveryBackoff(first, ceiling time.Duration) DelivererOption {
	return func(d *Deliverer) { d.first, d.maxWait = first, ceiling }
}

// WithDeliveryPoll sets how often the outbox is checked when nothing wakes the deliverer
// (default 5s; new rows of this process wake it at once).
func WithDeliveryPoll(p time.Duration) DelivererOption { return func(d *Deliverer) { d.poll = p } }

// WithDeliveryLogger sets the logger.
func WithDeliveryLogger(l *slog.Logger) DelivererOption {
	return func(d *Deliverer) { d.log = l.With("component", "webhooks") }
}

// NewDeliverer delivers the store's outbox to url, signing with secret.
func NewDeliverer(s *Store, url, secret string, opts ...DelivererOption) *Deliverer {
	d := &Deliverer{s: s, holder: s.node + "/" + newID(), url: url, secret: secret, timeout: 10 * time.Second, now: time.Now,
		first: 10 * time.Second, maxWait: time.Hour, poll: 5 * time.Second, batch: 50,
		log: s.log.With("component", "webhooks")}
	for _, o := range opts {
		o(d)
	}
	if d.client == nil {
		d.client = &http.Client{Timeout: d.timeout}
	}
	return d
}

// Run delivers until ctx ends.
func (d *Deliverer) Run(ctx context.Context) error {
	for {
		if _, err := d.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("webhook outbox", "err", err)
		}
		wait := d.poll
		var next sql.NullInt64
		if err := d.s.r().row(ctx, `SELECT MIN(CASE WHEN lease_until > next_attempt_at THEN lease_until ELSE next_attempt_at END)
			FROM outbox WHERE delivered_at IS NULL`).Scan(&next); err == nil && next.Valid {
			if w := fromMS(next.Int64).Sub(d.now()); w < wait {
				wait = max(w, 10*time.Millisecond)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-d.s.notify:
		case <-t.C:
		}
		t.Stop()
	}
}

type outboxRow struct {
	id, event, payload string
	attempts           int
}

// DeliverDue sends every delivery whose time has come, once, and returns how many the
// receiver accepted. An error is the database's; a receiver's failure only reschedules.
func (d *Deliverer) DeliverDue(ctx context.Context) (int, error) {
	now := d.now()
	rows, err := d.s.r().query(ctx, `SELECT id, event, payload, attempts FROM outbox
		WHERE delivered_at IS NULL AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)
		ORDER BY created_at, id LIMIT ?`, ms(now), ms(now), d.batch)
	if err != nil {
		return 0, err
	}
	var due []outboxRow
	for rows.Next() {
		var o outboxRow
		if err := rows.Scan(&o.id, &o.event, &o.payload, &o.attempts); err != nil {
			rows.Close()
			return 0, err
		}
		due = append(due, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	delivered := 0
	for _, o := range due {
		now := d.now()
		// The lease only has to outlast one POST: a sender that dies mid-request (SIGKILL,
		// power loss) holds the row for no longer than its timeout plus a margin.
		// The row is checked again as of now: since it was listed, another deliverer may have
		// sent it, or failed it and set its next attempt after the backoff.
		res, err := d.s.r().exec(ctx, `UPDATE outbox SET lease_until = ?, leased_by = ? WHERE id = ? AND delivered_at IS NULL
			AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)`,
			ms(now.Add(d.timeout+leaseMargin)), d.holder, o.id, ms(now), ms(now))
		if err != nil {
			return delivered, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue // another deliverer has it
		}
		retryAfter, sendErr := d.send(ctx, o)
		now = d.now()
		if sendErr == nil {
			mDeliveries.WithLabelValues(o.event, "delivered").Inc()
			delivered++
			// Delivered, whoever holds the lease now; a row another sender delivered first
			// keeps its time.
			if _, err := d.s.r().exec(ctx, `UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, lease_until = NULL,
				leased_by = '', last_error = '' WHERE id = ? AND delivered_at IS NULL`, ms(now), o.id); err != nil {
				return delivered, err
			}
			continue
		}
		if ctx.Err() != nil {
			d.s.r().exec(context.WithoutCancel(ctx), "UPDATE outbox SET lease_until = NULL, leased_by = '' WHERE id = ? AND leased_by = ?", o.id, d.holder)
			return delivered, ctx.Err()
		}
		mDeliveries.WithLabelValues(o.event, "failed").Inc()
		wait := d.backoff(o.attempts + 1)
		if retryAfter > wait {
			wait = min(retryAfter, d.maxWait)
		}
		d.log.Warn("webhook delivery failed", "delivery", o.id, "event", o.event, "attempt", o.attempts+1, "retry_in", wait, "err", sendErr)
		// Only while the lease is still this deliverer's: past it, another may have sent the
		// row meanwhile, and its outcome stands.
		if _, err := d.s.r().exec(ctx, `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, lease_until = NULL,
			leased_by = '', last_error = ? WHERE id = ? AND leased_by = ? AND delivered_at IS NULL`,
			ms(now.Add(wait)), truncate(sendErr.Error(), 500), o.id, d.holder); err != nil {
			return delivered, err
		}
	}
	return delivered, nil
}

// leaseMargin is how long a row stays leased beyond its sender's request timeout.
const leaseMargin = 5 * time.Second

func (d *Deliverer) backoff(failures int) time.Duration {
	w := d.first
	for i := 1; i < failures && w < d.maxWait; i++ {
		w *= 2
	}
	return min(w, d.maxWait)
}

// send POSTs one delivery. A 2xx is success; anything else is an error, with the receiver's
// Retry-After (seconds) when it sent one.
func (d *Deliverer) send(ctx context.Context, o outboxRow) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	body := []byte(o.payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "hotline-webhooks")
	req.Header.Set(HeaderSignature, Sign(d.secret, body))
	req.Header.Set(HeaderEvent, o.event)
	req.Header.Set(HeaderDelivery, o.id)
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 == 2 {
		return 0, nil
	}
	var ra time.Duration
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		ra = time.Duration(secs) * time.Second
	}
	return ra, fmt.Errorf("%s answered %s", d.url, resp.Status)
}
