package customers

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Webhook events.
const (
	EventTicketCreated  = "ticket.created"  // a ticket was opened (voicemail, failed callback, by hand)
	EventContactMissed  = "contact.missed"  // a contact ended abandoned, timed out, with no agent or after hours
	EventCustomerErased = "customer.erased" // a customer's personal data was erased: erase it downstream too
)

// Webhook is the JSON body of every delivery. Deliveries are at least once: a receiver
// dedupes on ID (also sent as X-Hotline-Delivery).
type Webhook struct {
	ID        string           `json:"id"`
	Event     string           `json:"event"`
	CreatedAt time.Time        `json:"created_at"`
	Customer  *WebhookCustomer `json:"customer,omitempty"`
	Ticket    *WebhookTicket   `json:"ticket,omitempty"`
	Contact   *WebhookContact  `json:"contact,omitempty"`
}

// WebhookCustomer is the customer a webhook is about.
type WebhookCustomer struct {
	ID        string   `json:"id"`
	Name      string   `json:"name,omitempty"`
	Language  string   `json:"language,omitempty"`
	VIP       bool     `json:"vip,omitempty"`
	Anonymous bool     `json:"anonymous,omitempty"`
	Numbers   []string `json:"numbers,omitempty"`
	Accounts  []string `json:"accounts,omitempty"`
	Emails    []string `json:"emails,omitempty"`
}

// WebhookTicket is a new ticket.
type WebhookTicket struct {
	ID         string            `json:"id"`
	Number     string            `json:"number"`
	Kind       TicketKind        `json:"kind"`
	Subject    string            `json:"subject"`
	Status     TicketStatus      `json:"status"`
	Priority   TicketPriority    `json:"priority"`
	Queue      string            `json:"queue,omitempty"`
	ContactID  string            `json:"contact_id,omitempty"`
	CallbackID string            `json:"callback_id,omitempty"`
	Recording  *WebhookRecording `json:"recording,omitempty"`
}

// WebhookRecording describes a voicemail (the file is fetched from hotline's API).
type WebhookRecording struct {
	ID         string `json:"id"`
	SHA256     string `json:"sha256"`
	Size       int64  `json:"size"`
	DurationMS int64  `json:"duration_ms"`
}

// WebhookContact is a missed contact.
type WebhookContact struct {
	ID        string     `json:"id"`
	CallID    string     `json:"call_id,omitempty"`
	Channel   Channel    `json:"channel"`
	Direction Direction  `json:"direction"`
	Outcome   Outcome    `json:"outcome"`
	Queue     string     `json:"queue,omitempty"`
	Address   string     `json:"address,omitempty"`
	Dialed    string     `json:"dialed,omitempty"`
	StartedAt time.Time  `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	WaitMS    int64      `json:"wait_ms"`
}

func (s *Store) enqueue(ctx context.Context, r run, customerID string, w Webhook) error {
	if !s.hooks {
		return nil
	}
	now := s.now()
	w.ID, w.CreatedAt = newID(), now.UTC().Truncate(time.Millisecond)
	body, err := json.Marshal(w)
	if err != nil {
		return err
	}
	if _, err := r.exec(ctx, `INSERT INTO outbox (id, event, customer_id, payload, next_attempt_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, w.ID, w.Event, nullStr(customerID), string(body), ms(now), ms(now)); err != nil {
		return fmt.Errorf("customers: outbox: %w", err)
	}
	if r.outbox != nil {
		*r.outbox = true
	}
	return nil
}

func (s *Store) webhookCustomer(ctx context.Context, r run, id string) (*WebhookCustomer, error) {
	if id == "" {
		return nil, nil
	}
	c, err := s.loadCustomer(ctx, r, id)
	if err != nil {
		return nil, err
	}
	w := &WebhookCustomer{ID: c.ID, Name: c.Name, Language: c.Language, VIP: c.VIP, Anonymous: c.Anonymous}
	for _, ident := range c.Identities {
		switch ident.Kind {
		case KindPhone:
			w.Numbers = append(w.Numbers, ident.Value)
		case KindAccount:
			w.Accounts = append(w.Accounts, ident.Value)
		case KindEmail:
			w.Emails = append(w.Emails, ident.Value)
		}
	}
	return w, nil
}

func (s *Store) enqueueTicket(ctx context.Context, r run, ticketID string) error {
	if !s.hooks {
		return nil
	}
	list, err := s.scanTickets(ctx, r, "SELECT "+ticketCols+" FROM tickets WHERE id = ?", ticketID)
	if err != nil || len(list) == 0 {
		return fmt.Errorf("customers: ticket %s for its webhook: %v", ticketID, err)
	}
	t := list[0]
	wt := &WebhookTicket{ID: t.ID, Number: t.Number, Kind: t.Kind, Subject: t.Subject, Status: t.Status,
		Priority: t.Priority, Queue: t.Queue, ContactID: t.ContactID, CallbackID: t.CallbackID}
	if rec := t.Recording; rec != nil {
		wt.Recording = &WebhookRecording{ID: rec.ID, SHA256: rec.SHA256, Size: rec.Size, DurationMS: rec.Duration.Milliseconds()}
	}
	cust, err := s.webhookCustomer(ctx, r, t.CustomerID)
	if err != nil {
		return err
	}
	return s.enqueue(ctx, r, t.CustomerID, Webhook{Event: EventTicketCreated, Ticket: wt, Customer: cust})
}

func (s *Store) enqueueMissed(ctx context.Context, r run, c Contact) error {
	if !s.hooks {
		return nil
	}
	wc := &WebhookContact{ID: c.ID, CallID: c.CallID, Channel: c.Channel, Direction: c.Direction, Outcome: c.Outcome,
		Queue: c.Queue, Address: c.Address, Dialed: c.Dialed, StartedAt: c.StartedAt.UTC().Truncate(time.Millisecond),
		WaitMS: c.Wait.Milliseconds()}
	if !c.EndedAt.IsZero() {
		e := c.EndedAt.UTC().Truncate(time.Millisecond)
		wc.EndedAt = &e
	}
	cust, err := s.webhookCustomer(ctx, r, c.CustomerID)
	if err != nil {
		return err
	}
	return s.enqueue(ctx, r, c.CustomerID, Webhook{Event: EventContactMissed, Contact: wc, Customer: cust})
}

// PendingDeliveries counts webhook deliveries not yet accepted by the receiver.
func (s *Store) PendingDeliveries(ctx context.Context) (int, error) {
	var n int
	err := s.r().row(ctx, "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL").Scan(&n)
	return n, err
}
