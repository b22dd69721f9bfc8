// Package callgen is the load generator of make bench: a minimal SIP UAC over UDP that places
// calls at wire speed and measures the RTP hotline sends them, timestamped by the kernel.
// It is an instrument, not a phone: it speaks just enough SIP for hotline and nothing else.
package callgen
