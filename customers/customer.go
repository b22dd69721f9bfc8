package customers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Customer is one person (or organization) and the identities that recognize them.
type Customer struct {
	ID         string
	Name       string
	Language   string // preferred language, e.g. zh
	Tier       string
	VIP        bool
	Anonymous  bool       // a withheld caller's record: found by ID only, never by number
	Identities []Identity // in the order they were linked
	MergedFrom []string   // records merged into this one
	ErasedAt   time.Time  // when the personal data was erased; zero if never
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Number is the customer's first phone number ("" if none).
func (c Customer) Number() string { return c.first(KindPhone) }

// Account is the customer's first account number ("" if none).
func (c Customer) Account() string { return c.first(KindAccount) }

// Email is the customer's first e-mail address ("" if none).
func (c Customer) Email() string { return c.first(KindEmail) }

func (c Customer) first(k IdentityKind) string {
	for _, id := range c.Identities {
		if id.Kind == k {
			return id.Value
		}
	}
	return ""
}

// FindOrCreateByNumber returns the customer a caller ID belongs to, creating one on the first
// call. A withheld caller (or a caller ID that is no identity at all) gets a new anonymous
// record every time: it is kept, with its contacts, but never matched to anyone.
func (s *Store) FindOrCreateByNumber(ctx context.Context, callerID string) (Customer, error) {
	var id string
	err := s.inTxRetry(ctx, func(r run) error {
		var err error
		id, _, err = s.customerFor(ctx, r, callerID, false)
		return err
	})
	if err != nil {
		return Customer{}, err
	}
	return s.Customer(ctx, id)
}

// customerFor finds or creates, inside a transaction, the customer an address belongs to;
// created says it was created.
func (s *Store) customerFor(ctx context.Context, r run, address string, email bool) (id string, created bool, err error) {
	ident, err := s.addressIdentity(address, email)
	return s.customerWith(ctx, r, ident, err == nil)
}

// addressIdentity is the identity an address is: a caller ID, or an e-mail address. An error
// is an address that identifies no one (withheld, unreadable).
func (s *Store) addressIdentity(address string, email bool) (Identity, error) {
	if email {
		v, err := NormalizeEmail(address)
		return Identity{KindEmail, v}, err
	}
	return CallerIdentity(address, s.policy.Region)
}

// customerWith finds or creates, inside a transaction, the customer ident belongs to; with no
// identity (ok false), a new anonymous customer.
func (s *Store) customerWith(ctx context.Context, r run, ident Identity, ok bool) (id string, created bool, err error) {
	if !ok {
		id, err = s.insertCustomer(ctx, r, Customer{Anonymous: true})
		return id, err == nil, err
	}
	id, err = s.owner(ctx, r, ident)
	if err == nil {
		return id, false, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return "", false, err
	}
	// Nobody has ident (just seen, in this transaction): no second look as link would take.
	if id, err = s.insertCustomer(ctx, r, Customer{}); err != nil {
		return "", false, err
	}
	if err := s.insertIdentity(ctx, r, id, ident); err != nil {
		return "", false, err
	}
	return id, true, nil
}

func (s *Store) insertCustomer(ctx context.Context, r run, c Customer) (string, error) {
	id, now := newID(), ms(s.now())
	if _, err := r.exec(ctx, `INSERT INTO customers (id, name, language, tier, vip, anonymous, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, c.Name, c.Language, c.Tier, b2i(c.VIP), b2i(c.Anonymous), now, now); err != nil {
		return "", fmt.Errorf("customers: creating customer: %w", err)
	}
	for _, ident := range c.Identities {
		if err := s.link(ctx, r, id, ident); err != nil {
			return "", err
		}
	}
	return id, nil
}

// CreateCustomer adds a customer with the given details and identities (normalized; phone
// numbers in the policy's region). An identity someone else has is an *IdentityTakenError.
func (s *Store) CreateCustomer(ctx context.Context, c Customer) (Customer, error) {
	for i, ident := range c.Identities {
		n, err := NewIdentity(ident.Kind, ident.Value, s.policy.Region)
		if err != nil {
			return Customer{}, err
		}
		c.Identities[i] = n
	}
	c.Anonymous = false
	var id string
	err := s.inTx(ctx, func(r run) error {
		var err error
		id, err = s.insertCustomer(ctx, r, c)
		return err
	})
	if err != nil {
		return Customer{}, err
	}
	return s.Customer(ctx, id)
}

// owner is the customer an identity belongs to, following merges.
func (s *Store) owner(ctx context.Context, r run, ident Identity) (string, error) {
	var id string
	err := r.row(ctx, "SELECT customer_id FROM identities WHERE kind = ? AND value = ?", ident.Kind, ident.Value).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", err
	}
	return s.resolve(ctx, r, id)
}

// resolve follows merged_into to the record that survived.
func (s *Store) resolve(ctx context.Context, r run, id string) (string, error) {
	for i := 0; i < 32; i++ {
		var into sql.NullString
		err := r.row(ctx, "SELECT merged_into FROM customers WHERE id = ?", id).Scan(&into)
		if errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("%w: customer %s", ErrNotFound, id)
		}
		if err != nil {
			return "", err
		}
		if !into.Valid {
			return id, nil
		}
		id = into.String
	}
	return "", fmt.Errorf("customers: customer %s: merges form a loop", id)
}

// Customer returns a customer by ID; the ID of a record merged away gives the one it went into.
func (s *Store) Customer(ctx context.Context, id string) (Customer, error) {
	return s.loadCustomer(ctx, s.r(), id)
}

func (s *Store) loadCustomer(ctx context.Context, r run, id string) (Customer, error) {
	id, err := s.resolve(ctx, r, id)
	if err != nil {
		return Customer{}, err
	}
	var c Customer
	var vip, anon int
	var erased sql.NullInt64
	var created, updated int64
	err = r.row(ctx, `SELECT id, name, language, tier, vip, anonymous, erased_at, created_at, updated_at
		FROM customers WHERE id = ?`, id).Scan(&c.ID, &c.Name, &c.Language, &c.Tier, &vip, &anon, &erased, &created, &updated)
	if err != nil {
		return Customer{}, err
	}
	c.VIP, c.Anonymous, c.ErasedAt = vip != 0, anon != 0, fromNullMS(erased)
	c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
	rows, err := r.query(ctx, "SELECT kind, value FROM identities WHERE customer_id = ? ORDER BY created_at, kind, value", id)
	if err != nil {
		return Customer{}, err
	}
	for rows.Next() {
		var ident Identity
		if err := rows.Scan(&ident.Kind, &ident.Value); err != nil {
			rows.Close()
			return Customer{}, err
		}
		c.Identities = append(c.Identities, ident)
	}
	rows.Close()
	rows, err = r.query(ctx, "SELECT id FROM customers WHERE merged_into = ? ORDER BY id", id)
	if err != nil {
		return Customer{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return Customer{}, err
		}
		c.MergedFrom = append(c.MergedFrom, m)
	}
	return c, rows.Err()
}

// ByNumber finds the customer with this phone number or caller ID; nobody (or a withheld
// number) is (nil, nil), as ivr.CustomerLookup expects.
func (s *Store) ByNumber(ctx context.Context, number string) (*Customer, error) {
	ident, err := CallerIdentity(number, s.policy.Region)
	if err != nil {
		return nil, nil
	}
	return s.byIdentity(ctx, ident)
}

// ByAccount finds the customer with this account number; nobody is (nil, nil).
func (s *Store) ByAccount(ctx context.Context, account string) (*Customer, error) {
	v, err := NormalizeAccount(account)
	if err != nil {
		return nil, nil
	}
	return s.byIdentity(ctx, Identity{KindAccount, v})
}

// ByEmail finds the customer with this e-mail address; nobody is (nil, nil).
func (s *Store) ByEmail(ctx context.Context, email string) (*Customer, error) {
	v, err := NormalizeEmail(email)
	if err != nil {
		return nil, nil
	}
	return s.byIdentity(ctx, Identity{KindEmail, v})
}

func (s *Store) byIdentity(ctx context.Context, ident Identity) (*Customer, error) {
	id, err := s.owner(ctx, s.r(), ident)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c, err := s.Customer(ctx, id)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// CustomerUpdate changes the fields that are set.
type CustomerUpdate struct {
	Name, Language, Tier *string
	VIP                  *bool
}

// UpdateCustomer changes a customer's details.
func (s *Store) UpdateCustomer(ctx context.Context, id string, u CustomerUpdate) (Customer, error) {
	err := s.inTx(ctx, func(r run) error {
		c, err := s.loadCustomer(ctx, r, id)
		if err != nil {
			return err
		}
		if !c.ErasedAt.IsZero() {
			return fmt.Errorf("%w: customer %s", ErrErased, c.ID)
		}
		id = c.ID
		set := func(p *string, v string) string {
			if p != nil {
				return *p
			}
			return v
		}
		vip := c.VIP
		if u.VIP != nil {
			vip = *u.VIP
		}
		_, err = r.exec(ctx, "UPDATE customers SET name = ?, language = ?, tier = ?, vip = ?, updated_at = ? WHERE id = ?",
			set(u.Name, c.Name), set(u.Language, c.Language), set(u.Tier, c.Tier), b2i(vip), ms(s.now()), c.ID)
		return err
	})
	if err != nil {
		return Customer{}, err
	}
	return s.Customer(ctx, id)
}

// LinkAccount files an account number (as entered in the IVR) under a customer. Linking one
// the customer already has does nothing; one that belongs to someone else is an
// *IdentityTakenError and nothing moves (attribute the contact to the owner with
// UpdateContact, or Merge the two).
func (s *Store) LinkAccount(ctx context.Context, customerID, account string) error {
	v, err := NormalizeAccount(account)
	if err != nil {
		return err
	}
	return s.Link(ctx, customerID, Identity{KindAccount, v})
}

// Link files any identity under a customer (normalized first), as LinkAccount does.
func (s *Store) Link(ctx context.Context, customerID string, ident Identity) error {
	ident, err := NewIdentity(ident.Kind, ident.Value, s.policy.Region)
	if err != nil {
		return err
	}
	return s.inTxRetry(ctx, func(r run) error {
		id, err := s.resolve(ctx, r, customerID)
		if err != nil {
			return err
		}
		var erased sql.NullInt64
		if err := r.row(ctx, "SELECT erased_at FROM customers WHERE id = ?", id).Scan(&erased); err != nil {
			return err
		}
		if erased.Valid {
			return fmt.Errorf("%w: customer %s", ErrErased, id)
		}
		if err := s.link(ctx, r, id, ident); err != nil {
			return err
		}
		_, err = r.exec(ctx, "UPDATE customers SET anonymous = 0, updated_at = ? WHERE id = ?", ms(s.now()), id)
		return err
	})
}

func (s *Store) link(ctx context.Context, r run, id string, ident Identity) error {
	owner, err := s.owner(ctx, r, ident)
	switch {
	case err == nil && owner == id:
		return nil
	case err == nil:
		return &IdentityTakenError{Identity: ident, Owner: owner}
	case !errors.Is(err, ErrNotFound):
		return err
	}
	return s.insertIdentity(ctx, r, id, ident)
}

func (s *Store) insertIdentity(ctx context.Context, r run, id string, ident Identity) error {
	_, err := r.exec(ctx, "INSERT INTO identities (kind, value, customer_id, created_at) VALUES (?, ?, ?, ?)",
		ident.Kind, ident.Value, id, ms(s.now()))
	return err
}

// Unlink removes an identity from a customer (a number that was given up, a typo).
func (s *Store) Unlink(ctx context.Context, customerID string, ident Identity) error {
	ident, err := NewIdentity(ident.Kind, ident.Value, s.policy.Region)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(r run) error {
		id, err := s.resolve(ctx, r, customerID)
		if err != nil {
			return err
		}
		res, err := r.exec(ctx, "DELETE FROM identities WHERE kind = ? AND value = ? AND customer_id = ?", ident.Kind, ident.Value, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: customer %s has no %s %s", ErrNotFound, id, ident.Kind, ident.Value)
		}
		return nil
	})
}

// Merge makes two records found to be one person into one: everything of gone (identities,
// contacts, tickets, callbacks, recordings, surveys) moves to keep, so keep's timeline holds
// both; gone stays as a pointer to keep. Blank details of keep are filled from gone. When
// both wait for a callback from the same queue, the one that arrived first is kept (with the
// higher priority) and the other cancelled.
func (s *Store) Merge(ctx context.Context, keepID, goneID string) (Customer, error) {
	err := s.inTx(ctx, func(r run) error {
		keep, err := s.loadCustomer(ctx, r, keepID)
		if err != nil {
			return err
		}
		gone, err := s.loadCustomer(ctx, r, goneID)
		if err != nil {
			return err
		}
		if keep.ID == gone.ID {
			return fmt.Errorf("%w: %s and %s are already one customer", ErrInvalid, keepID, goneID)
		}
		if !keep.ErasedAt.IsZero() || !gone.ErasedAt.IsZero() {
			return fmt.Errorf("%w: an erased customer cannot be merged", ErrErased)
		}
		keepID, goneID = keep.ID, gone.ID
		now := ms(s.now())
		// Callbacks waiting in the same queue for both: keep the earlier arrival.
		live, err := s.scanCallbacks(r.query(ctx, `SELECT `+callbackCols+` FROM callbacks
			WHERE customer_id IN (?, ?) AND status IN ('pending', 'dialing') ORDER BY arrived_at, id`, keepID, goneID))
		if err != nil {
			return err
		}
		first := map[string]Callback{}
		for _, cb := range live {
			f, ok := first[cb.Queue]
			if !ok {
				first[cb.Queue] = cb
				continue
			}
			if _, err := r.exec(ctx, `UPDATE callbacks SET status = 'cancelled', last_result = 'merged', updated_at = ? WHERE id = ?`, now, cb.ID); err != nil {
				return err
			}
			if cb.Priority > f.Priority {
				if _, err := r.exec(ctx, "UPDATE callbacks SET priority = ? WHERE id = ?", cb.Priority, f.ID); err != nil {
					return err
				}
			}
		}
		for _, t := range []string{"identities", "contacts", "callbacks", "tickets", "recordings", "surveys", "outbox", "dispositions", "worklist"} {
			if _, err := r.exec(ctx, "UPDATE "+t+" SET customer_id = ? WHERE customer_id = ?", keepID, goneID); err != nil {
				return fmt.Errorf("customers: merge %s: %w", t, err)
			}
		}
		pick := func(a, b string) string {
			if a != "" {
				return a
			}
			return b
		}
		if _, err := r.exec(ctx, `UPDATE customers SET name = ?, language = ?, tier = ?, vip = ?, anonymous = ?, updated_at = ? WHERE id = ?`,
			pick(keep.Name, gone.Name), pick(keep.Language, gone.Language), pick(keep.Tier, gone.Tier),
			b2i(keep.VIP || gone.VIP), b2i(keep.Anonymous && gone.Anonymous), now, keepID); err != nil {
			return err
		}
		if _, err := r.exec(ctx, "UPDATE customers SET merged_into = ?, updated_at = ? WHERE id = ? OR merged_into = ?", keepID, now, goneID, goneID); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return Customer{}, err
	}
	return s.Customer(ctx, keepID)
}

// SearchCustomers finds customers whose name contains name (case-insensitive), newest first,
// a page at a time. Merged-away and erased records are not found.
func (s *Store) SearchCustomers(ctx context.Context, name string, p Page) ([]Customer, string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, "", fmt.Errorf("%w: search needs a name", ErrInvalid)
	}
	escaped := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(name))
	where := []string{"merged_into IS NULL", "erased_at IS NULL", `LOWER(name) LIKE ? ESCAPE '\'`}
	args := []any{"%" + escaped + "%"}
	limit, err := p.apply("created_at", &where, &args)
	if err != nil {
		return nil, "", err
	}
	r := s.r()
	rows, err := r.query(ctx, "SELECT id FROM customers"+whereSQL(where)+" ORDER BY created_at DESC, id DESC LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, "", err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	out := make([]Customer, 0, len(ids))
	for _, id := range ids {
		c, err := s.loadCustomer(ctx, r, id)
		if err != nil {
			return nil, "", err
		}
		out = append(out, c)
	}
	out, next := cutPage(out, limit, func(c Customer) (time.Time, string) { return c.CreatedAt, c.ID })
	return out, next, nil
}
