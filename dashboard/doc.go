// Package dashboard is the supervisor's browser dashboard and the REST API (/api/v1) that
// agents and other systems use: live queues, agents and calls from the running center, the
// customer record from the store, reports, staffing, a Server-Sent Events stream, and token
// auth with roles. It reads the center only through the Live interface and never routes calls.
package dashboard
