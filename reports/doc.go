// Package reports computes per-queue interval reports (15 min, hour, day) from the stored
// contacts, callbacks and tickets, with the same counting rules and formulas as the live ACD
// statistics (acd.Counters, acd.KPIs), so they survive restarts and match the live figures.
// It only reads the store; Collector exports the distributor's live view to Prometheus with the
// same names docs/kpis.md lists and explains.
package reports
