// Package ari drives calls through Asterisk over ARI: a thin REST + event WebSocket client of
// our own, and a driver whose channels implement call.Channel and call.Dialer like package sip.
// It knows nothing of flows, queues or customers, and never imports ivr, acd or the center.
//
// The client follows the habits of CyCoreSystems/ari: hotline generates every channel,
// playback, recording and bridge ID itself and subscribes to its events before the REST call
// that causes them (Asterisk may send those events before the HTTP response); the HTTP status
// is checked before a body is decoded; a 404 on hangup or delete counts as done; the event
// WebSocket reconnects with exponential backoff and, after each reconnect, asks Asterisk which
// channels still exist so that no call is lost track of silently.
package ari
