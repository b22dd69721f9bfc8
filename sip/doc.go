// Package sip is hotline's native call engine: SIP signaling on sipgo (UAS, UAC, registrar
// with digest auth, B2BUA legs) implementing call.Channel and call.Dialer over sip/media.
// It knows nothing of flows, queues or customers; the center tells it what to do with a call.
package sip
