// Package customers is the record of everyone who called: customers and their identities,
// every contact on one timeline, callbacks that keep their place, tickets, and the durable
// webhook outbox, in SQLite (default) or PostgreSQL. It stores and decides what is stored; it
// never places calls or touches the ACD, and it returns only after a COMMIT.
package customers
