package callgen

import (
	"bytes"
	"strconv"
)

// dialogs writes the messages of every call from templates: a call's Call-ID, tags and
// branches derive from its number, so a retransmission is rebuilt byte for byte and a reply
// finds its call by parsing a number back, without a map.
type dialogs struct {
	local   string // SIP host:port callgen sends from
	localIP string
	server  string // hotline's SIP host:port
	service string // Request-URI user: which flow answers
	caller  string // caller number prefix; the call number follows it
	run     string // distinguishes this run's Call-IDs from a previous run's stragglers
}

func (d *dialogs) appendCallID(b []byte, call int) []byte {
	b = strconv.AppendInt(b, int64(call), 10)
	b = append(b, '.')
	b = append(b, d.run...)
	return append(b, "@callgen"...)
}

// callIndex returns the call number in a Call-ID of this run.
func (d *dialogs) callIndex(callID []byte) (int, bool) {
	num, rest, ok := bytes.Cut(callID, []byte("."))
	if !ok || string(rest) != d.run+"@callgen" {
		return 0, false
	}
	n, err := strconv.Atoi(string(num))
	return n, err == nil && n >= 0
}

func (d *dialogs) appendCaller(b []byte, call int) []byte {
	b = append(b, d.caller...)
	s := strconv.Itoa(call)
	for range 7 - len(s) {
		b = append(b, '0')
	}
	return append(b, s...)
}

func (d *dialogs) appendInviteURI(b []byte) []byte {
	return append(append(append(append(b, "sip:"...), d.service...), '@'), d.server...)
}

// appendHead writes the request line and the headers every request of call shares.
func (d *dialogs) appendHead(b []byte, method string, uri []byte, call int, branch string, cseq int, to []byte) []byte {
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, uri...)
	b = append(b, " SIP/2.0\r\nVia: SIP/2.0/UDP "...)
	b = append(b, d.local...)
	b = append(b, ";rport;branch=z9hG4bK"...)
	b = strconv.AppendInt(b, int64(call), 10)
	b = append(b, '.')
	b = append(b, d.run...)
	b = append(b, branch...)
	b = append(b, "\r\nMax-Forwards: 70\r\nFrom: <sip:"...)
	b = d.appendCaller(b, call)
	b = append(b, '@')
	b = append(b, d.localIP...)
	b = append(b, ">;tag=f"...)
	b = strconv.AppendInt(b, int64(call), 10)
	b = append(b, "\r\nTo: "...)
	if to == nil {
		b = append(b, '<')
		b = d.appendInviteURI(b)
		b = append(b, '>')
	} else {
		b = append(b, to...)
	}
	b = append(b, "\r\nCall-ID: "...)
	b = d.appendCallID(b, call)
	b = append(b, "\r\nCSeq: "...)
	b = strconv.AppendInt(b, int64(cseq), 10)
	b = append(b, ' ')
	b = append(b, method...)
	return append(b, "\r\n"...)
}

// appendInvite writes call's INVITE, offering PCMU and telephone-event on rtpPort.
func (d *dialogs) appendInvite(b []byte, call, rtpPort int) []byte {
	b = d.appendHead(b, "INVITE", d.appendInviteURI(nil), call, ".1", 1, nil)
	b = append(b, "Contact: <sip:"...)
	b = d.appendCaller(b, call)
	b = append(b, '@')
	b = append(b, d.local...)
	b = append(b, ">\r\nUser-Agent: hotline-callgen\r\nContent-Type: application/sdp\r\nContent-Length: "...)
	sdp := d.appendSDP(nil, call, rtpPort)
	b = strconv.AppendInt(b, int64(len(sdp)), 10)
	b = append(b, "\r\n\r\n"...)
	return append(b, sdp...)
}

func (d *dialogs) appendSDP(b []byte, call, rtpPort int) []byte {
	b = append(b, "v=0\r\no=callgen "...)
	b = strconv.AppendInt(b, int64(call), 10)
	b = append(b, " 1 IN IP4 "...)
	b = append(b, d.localIP...)
	b = append(b, "\r\ns=-\r\nc=IN IP4 "...)
	b = append(b, d.localIP...)
	b = append(b, "\r\nt=0 0\r\nm=audio "...)
	b = strconv.AppendInt(b, int64(rtpPort), 10)
	return append(b, " RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"+
		"a=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"...)
}

// appendAck writes the ACK of an INVITE's final response: for a 2xx a new transaction to the
// Contact (RFC 3261 §13.2.2.4), for any other the INVITE's own branch and URI (§17.1.1.3).
func (d *dialogs) appendAck(b []byte, call int, to, target []byte, success bool) []byte {
	branch := ".1"
	if success {
		branch = ".ack"
	} else {
		target = d.appendInviteURI(nil)
	}
	b = d.appendHead(b, "ACK", target, call, branch, 1, to)
	return append(b, "Content-Length: 0\r\n\r\n"...)
}

// appendBye writes call's BYE, within the dialog the 200 set up.
func (d *dialogs) appendBye(b []byte, call int, to, target []byte) []byte {
	b = d.appendHead(b, "BYE", target, call, ".2", 2, to)
	return append(b, "Content-Length: 0\r\n\r\n"...)
}

// appendReply writes a response to request m, with no body (RFC 3261 §8.2.6.2: the Vias,
// From, To, Call-ID and CSeq copied).
func appendReply(b []byte, m *Message, status int, reason string) []byte {
	b = append(b, "SIP/2.0 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, reason...)
	for _, v := range m.Vias {
		b = append(append(b, "\r\nVia: "...), v...)
	}
	b = append(append(b, "\r\nFrom: "...), m.From...)
	b = append(append(b, "\r\nTo: "...), m.To...)
	if status != 100 && !bytes.Contains(m.To, []byte("tag=")) {
		b = append(b, ";tag=cg"...)
	}
	b = append(append(b, "\r\nCall-ID: "...), m.CallID...)
	b = append(b, "\r\nCSeq: "...)
	b = strconv.AppendInt(b, int64(m.CSeq), 10)
	b = append(append(append(b, ' '), m.CSeqOf...), "\r\nContent-Length: 0\r\n\r\n"...)
	return b
}
