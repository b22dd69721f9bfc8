package customers

import (
	"context"
	"database/sql"
	"fmt"
)

// pgCustomerWith is customerWith in one round trip on PostgreSQL: the owner of ident if
// there is one (and where it was merged, if it was), else a new customer with ident, made by
// the same statement. On the call path every call asks this; the generic way is a query for
// the owner, then an INSERT of the customer and one of its identity, three round trips for a
// new caller. Two calls from one new number at once: the second INSERT of the identity fails
// on its key and the write is run again (OpenContact's retry), and finds the first's.
func (s *Store) pgCustomerWith(ctx context.Context, r run, ident Identity) (id string, created bool, err error) {
	now := ms(s.now())
	var into sql.NullString
	err = r.row(ctx, `WITH found AS (
			SELECT i.customer_id, c.merged_into FROM identities i JOIN customers c ON c.id = i.customer_id
			WHERE i.kind = ? AND i.value = ?
		), made AS (
			INSERT INTO customers (id, created_at, updated_at)
			SELECT ?::text, ?::bigint, ?::bigint WHERE NOT EXISTS (SELECT 1 FROM found)
			RETURNING id
		), linked AS (
			INSERT INTO identities (kind, value, customer_id, created_at)
			SELECT ?::text, ?::text, id, ?::bigint FROM made
			RETURNING customer_id
		)
		SELECT customer_id, merged_into, false FROM found
		UNION ALL SELECT customer_id, NULL::text, true FROM linked`,
		ident.Kind, ident.Value, newID(), now, now, ident.Kind, ident.Value, now).Scan(&id, &into, &created)
	if err != nil {
		return "", false, fmt.Errorf("customers: finding or creating the customer: %w", err)
	}
	if into.Valid { // a record merged away: follow it to the one that survived
		id, err = s.resolve(ctx, r, into.String)
	}
	return id, created, err
}
