// Package multinode holds the end-to-end tests of one contact center on several nodes: real
// `hotline serve` processes on loopback sharing one PostgreSQL and one Redis, with real
// Kamailio in front and sipp callers and agents. It has no code of its own; see its tests.
package multinode
