package callgen

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// A 200 as sipgo sends it for hotline, with a compact header and an SDP body.
const ok200 = "SIP/2.0 200 OK\r\n" +
	"Via: SIP/2.0/UDP 127.0.0.1:5070;rport=5070;branch=z9hG4bK12.abc.1\r\n" +
	"From: <sip:+861390000012@127.0.0.1>;tag=f12\r\n" +
	"To: <sip:hotline@127.0.0.1:5060>;tag=9f8e\r\n" +
	"i: 12.abc@callgen\r\n" +
	"CSeq: 1 INVITE\r\n" +
	"Contact: <sip:hotline@127.0.0.1:5060;transport=udp>\r\n" +
	"Content-Type: application/sdp\r\n" +
	"l: 10\r\n\r\n" +
	"v=0\r\ns=-\r\nXX"

func TestParseResponse(t *testing.T) {
	m, err := Parse([]byte(ok200), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != 200 || m.Method != nil || m.CSeq != 1 || string(m.CSeqOf) != "INVITE" {
		t.Errorf("status %d method %q cseq %d %q", m.Status, m.Method, m.CSeq, m.CSeqOf)
	}
	if string(m.CallID) != "12.abc@callgen" || string(m.To) != "<sip:hotline@127.0.0.1:5060>;tag=9f8e" {
		t.Errorf("Call-ID %q To %q", m.CallID, m.To)
	}
	if string(m.Body) != "v=0\r\ns=-\r\n" {
		t.Errorf("body %q: want the Content-Length's 10 bytes", m.Body)
	}
	if got := string(URI(m.Contact)); got != "sip:hotline@127.0.0.1:5060;transport=udp" {
		t.Errorf("Contact URI %q", got)
	}
	d := dialogs{run: "abc"}
	if i, ok := d.callIndex(m.CallID); !ok || i != 12 {
		t.Errorf("call index %d %v, want 12", i, ok)
	}
	if _, ok := (&dialogs{run: "other"}).callIndex(m.CallID); ok {
		t.Error("a Call-ID of another run was taken for this run's")
	}
}

func TestParseRejects(t *testing.T) {
	for name, msg := range map[string]string{
		"no blank line":   "SIP/2.0 200 OK\r\nCall-ID: x\r\n",
		"bad status":      "SIP/2.0 2x0 OK\r\nVia: a\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n",
		"no Call-ID":      "SIP/2.0 200 OK\r\nVia: a\r\nCSeq: 1 INVITE\r\n\r\n",
		"short body":      "SIP/2.0 200 OK\r\nVia: a\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 9\r\n\r\nabc",
		"bad CSeq":        "BYE sip:a@b SIP/2.0\r\nVia: a\r\nCall-ID: x\r\nCSeq: one BYE\r\n\r\n",
		"not SIP/2.0":     "BYE sip:a@b HTTP/1.1\r\nVia: a\r\nCall-ID: x\r\nCSeq: 1 BYE\r\n\r\n",
		"header no colon": "BYE sip:a@b SIP/2.0\r\nVia a\r\n\r\n",
	} {
		if _, err := Parse([]byte(msg), nil); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v, want ErrMalformed", name, err)
		}
	}
}

// The 200 to hotline's BYE copies every Via, From, To, Call-ID and CSeq of the request.
func TestReplyToBye(t *testing.T) {
	bye := "BYE sip:+861390000003@127.0.0.1:5070 SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKa\r\n" +
		"v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKb\r\n" +
		"From: <sip:hotline@127.0.0.1:5060>;tag=9f8e\r\n" +
		"To: <sip:+861390000003@127.0.0.1>;tag=f3\r\n" +
		"Call-ID: 3.abc@callgen\r\nCSeq: 7 BYE\r\nContent-Length: 0\r\n\r\n"
	m, err := Parse([]byte(bye), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := string(appendReply(nil, &m, 200, "OK"))
	want := "SIP/2.0 200 OK\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKa\r\n" +
		"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKb\r\n" +
		"From: <sip:hotline@127.0.0.1:5060>;tag=9f8e\r\n" +
		"To: <sip:+861390000003@127.0.0.1>;tag=f3\r\n" +
		"Call-ID: 3.abc@callgen\r\nCSeq: 7 BYE\r\nContent-Length: 0\r\n\r\n"
	if got != want {
		t.Errorf("reply:\n%s\nwant:\n%s", got, want)
	}
}

// The INVITE parses back as one, its Content-Length is its body's, its SDP offers the port,
// and its retransmission is byte for byte the same.
func TestInviteTemplate(t *testing.T) {
	d := dialogs{local: "127.0.0.1:5070", localIP: "127.0.0.1", server: "127.0.0.1:5060",
		service: "load", caller: "+86139", run: "abc"}
	inv := d.appendInvite(nil, 42, 40002)
	if again := d.appendInvite(nil, 42, 40002); !bytes.Equal(inv, again) {
		t.Error("the INVITE is not rebuilt identically")
	}
	m, err := Parse(inv, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Method) != "INVITE" || m.CSeq != 1 || len(m.Vias) != 1 {
		t.Errorf("method %q cseq %d vias %d", m.Method, m.CSeq, len(m.Vias))
	}
	if !strings.Contains(string(m.From), "+861390000042@") || !strings.Contains(string(m.Body), "m=audio 40002 RTP/AVP 0 101\r\n") {
		t.Errorf("From %q body %q", m.From, m.Body)
	}
	if i, ok := d.callIndex(m.CallID); !ok || i != 42 {
		t.Errorf("Call-ID %q gives call %d %v", m.CallID, i, ok)
	}
	ack, err := Parse(d.appendAck(nil, 42, []byte("<sip:load@127.0.0.1:5060>;tag=x"), []byte("sip:load@127.0.0.1:5060"), true), nil)
	if err != nil || string(ack.Method) != "ACK" || string(ack.To) != "<sip:load@127.0.0.1:5060>;tag=x" || bytes.Equal(ack.Vias[0], m.Vias[0]) {
		t.Errorf("2xx ACK %+v, %v: want the dialog's To and a new branch", ack, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(ok200))
	f.Add([]byte("BYE sip:a@b SIP/2.0\r\nv: x\r\ni: 1.r@callgen\r\nCSeq: 2 BYE\r\nl: 0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b, nil)
		if err != nil {
			return
		}
		if (m.Method == nil) == (m.Status == 0) {
			t.Fatalf("neither or both a request and a response: %q %d", m.Method, m.Status)
		}
		_ = appendReply(nil, &m, 200, "OK")
		_ = URI(m.Contact)
	})
}
