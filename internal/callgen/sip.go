package callgen

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// Message is a parsed SIP message. Its fields point into the datagram it was parsed from
// and are valid only until that buffer is reused.
type Message struct {
	Method  []byte // a request's method; nil for a response
	Status  int    // a response's status code; 0 for a request
	CallID  []byte
	CSeq    int
	CSeqOf  []byte // the CSeq method
	From    []byte // header values, as sent
	To      []byte
	Contact []byte
	Vias    [][]byte // every Via value, top first (a reply copies them)
	Body    []byte
}

// ErrMalformed is returned for a datagram that is not a SIP message callgen can use.
var ErrMalformed = errors.New("callgen: malformed SIP message")

var crlf = []byte("\r\n")

// Parse parses one SIP message over UDP (RFC 3261 §7). Only what a UAC needs is kept; compact
// header names (§7.3.3) are understood. vias is reused to hold the Via values.
func Parse(b []byte, vias [][]byte) (Message, error) {
	var m Message
	head, body, ok := bytes.Cut(b, []byte("\r\n\r\n"))
	if !ok {
		return m, fmt.Errorf("%w: no blank line after the headers", ErrMalformed)
	}
	line, rest, _ := bytes.Cut(head, crlf)
	if status, ok := bytes.CutPrefix(line, []byte("SIP/2.0 ")); ok {
		if len(status) < 3 {
			return m, fmt.Errorf("%w: status line %q", ErrMalformed, line)
		}
		code, err := strconv.Atoi(string(status[:3]))
		if err != nil || code < 100 || code > 699 {
			return m, fmt.Errorf("%w: status line %q", ErrMalformed, line)
		}
		m.Status = code
	} else {
		method, _, ok := bytes.Cut(line, []byte(" "))
		if !ok || len(method) == 0 || !bytes.HasSuffix(line, []byte(" SIP/2.0")) {
			return m, fmt.Errorf("%w: request line %q", ErrMalformed, line)
		}
		m.Method = method
	}
	m.Vias = vias[:0]
	clen := -1
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, crlf)
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return m, fmt.Errorf("%w: header line %q", ErrMalformed, line)
		}
		name, value = bytes.TrimSpace(name), bytes.TrimSpace(value)
		switch {
		case header(name, "call-id", "i"):
			m.CallID = value
		case header(name, "cseq", ""):
			num, method, _ := bytes.Cut(value, []byte(" "))
			n, err := strconv.Atoi(string(num))
			if err != nil {
				return m, fmt.Errorf("%w: CSeq %q", ErrMalformed, value)
			}
			m.CSeq, m.CSeqOf = n, bytes.TrimSpace(method)
		case header(name, "from", "f"):
			m.From = value
		case header(name, "to", "t"):
			m.To = value
		case header(name, "contact", "m"):
			m.Contact = value
		case header(name, "via", "v"):
			m.Vias = append(m.Vias, value)
		case header(name, "content-length", "l"):
			n, err := strconv.Atoi(string(value))
			if err != nil || n < 0 {
				return m, fmt.Errorf("%w: Content-Length %q", ErrMalformed, value)
			}
			clen = n
		}
	}
	if m.CallID == nil || m.CSeqOf == nil || len(m.Vias) == 0 {
		return m, fmt.Errorf("%w: Call-ID, CSeq or Via missing", ErrMalformed)
	}
	if clen > len(body) {
		return m, fmt.Errorf("%w: Content-Length %d but %d bytes of body", ErrMalformed, clen, len(body))
	}
	if clen >= 0 {
		body = body[:clen]
	}
	m.Body = body
	return m, nil
}

func header(name []byte, long, compact string) bool {
	return bytes.EqualFold(name, []byte(long)) || (compact != "" && bytes.EqualFold(name, []byte(compact)))
}

// URI returns the URI inside a name-addr's angle brackets (a Contact, RFC 3261 §20.10),
// or the value up to its first ';' when there are none.
func URI(nameAddr []byte) []byte {
	if i := bytes.IndexByte(nameAddr, '<'); i >= 0 {
		if j := bytes.IndexByte(nameAddr[i:], '>'); j > 0 {
			return nameAddr[i+1 : i+j]
		}
	}
	uri, _, _ := bytes.Cut(nameAddr, []byte(";"))
	return bytes.TrimSpace(uri)
}
