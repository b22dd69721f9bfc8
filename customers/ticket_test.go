package customers

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// ulawWAV is a mono 8 kHz µ-law WAV of the given length.
func ulawWAV(d time.Duration) []byte {
	n := int(d / time.Second * 8000)
	var b bytes.Buffer
	w := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	w(uint32(36 + n))
	b.WriteString("WAVEfmt ")
	w(uint32(16))
	w(uint16(7))
	w(uint16(1))
	w(uint32(8000))
	w(uint32(8000))
	w(uint16(1))
	w(uint16(8))
	b.WriteString("data")
	w(uint32(n))
	b.Write(bytes.Repeat([]byte{0xff}, n))
	return b.Bytes()
}

func testVoicemail(e *env) {
	call, err := e.s.AddContact(e.ctx, Contact{Address: "+8613800138000", Queue: "support", CallID: "c-1"})
	e.must(err)
	src := filepath.Join(e.TempDir(), "vm.wav")
	audio := ulawWAV(42 * time.Second)
	e.must(os.WriteFile(src, audio, 0o640))
	tk, err := e.s.SaveVoicemail(e.ctx, Voicemail{Caller: "+8613800138000", ContactID: call.ID, Queue: "support", File: src})
	e.must(err)
	// The caller is told the number: it must be committed and human-friendly.
	if tk.Number != "T-000001" || tk.Kind != KindVoicemail || tk.CustomerID != call.CustomerID || tk.ContactID != call.ID ||
		tk.Status != TicketOpen || tk.Priority != PriorityNormal || tk.Subject != "Voicemail from +8613800138000 (0:42) for support" {
		e.Errorf("voicemail ticket: %+v", tk)
	}
	sum := sha256.Sum256(audio)
	rec := tk.Recording
	if rec == nil || rec.SHA256 != hex.EncodeToString(sum[:]) || rec.Size != int64(len(audio)) || rec.Duration != 42*time.Second || !rec.DeletedAt.IsZero() {
		e.Fatalf("recording: %+v", rec)
	}
	// The interpreter deletes its file after Save: the store kept its own copy.
	os.Remove(src)
	if err := e.s.Recordings().Verify(rec.ID, rec.SHA256); err != nil {
		e.Errorf("stored voicemail: %v", err)
	}
	if c, _ := e.s.Contact(e.ctx, call.ID); c.Outcome != OutcomeVoicemail {
		e.Errorf("contact outcome %q, want voicemail", c.Outcome)
	}
	// A withheld caller's message, from a reader; numbers keep counting.
	tk2, err := e.s.SaveVoicemail(e.ctx, Voicemail{Caller: "anonymous", Audio: bytes.NewReader(ulawWAV(5 * time.Second))})
	e.must(err)
	cust, _ := e.s.Customer(e.ctx, tk2.CustomerID)
	if tk2.Number != "T-000002" || tk2.Subject != "Voicemail from a withheld number (0:05)" || !cust.Anonymous {
		e.Errorf("withheld voicemail: %+v (customer anonymous %v)", tk2, cust.Anonymous)
	}
	byNumber, err := e.s.Ticket(e.ctx, "T-000001")
	if err != nil || byNumber.ID != tk.ID {
		e.Errorf("Ticket(T-000001) = %v, %v", byNumber.ID, err)
	}
	// The helpdesk hears of both, with the recording's details.
	if got := e.outbox(); len(got) != 2 || got[0] != EventTicketCreated {
		e.Fatalf("outbox %v", got)
	}
	var payload string
	e.must(e.s.r().row(e.ctx, "SELECT payload FROM outbox ORDER BY created_at, id LIMIT 1").Scan(&payload))
	w, err := ParseWebhook([]byte(payload))
	e.must(err)
	if w.Ticket == nil || w.Ticket.Number != "T-000001" || w.Ticket.Recording == nil || w.Ticket.Recording.DurationMS != 42000 ||
		w.Ticket.Recording.SHA256 != rec.SHA256 || w.Customer == nil || w.Customer.Numbers[0] != "+8613800138000" {
		e.Errorf("ticket.created payload: %s", payload)
	}
}

func testVoicemailRollback(e *env) {
	_, err := e.s.SaveVoicemail(e.ctx, Voicemail{Caller: "+8613800138000", ContactID: "no-such-contact", Audio: bytes.NewReader(ulawWAV(time.Second))})
	if !errors.Is(err, ErrNotFound) {
		e.Fatalf("voicemail on a missing contact: %v, want ErrNotFound", err)
	}
	files := 0
	filepath.WalkDir(e.s.Recordings().Dir(), func(_ string, d fs.DirEntry, _ error) error {
		if d != nil && !d.IsDir() {
			files++
		}
		return nil
	})
	if files != 0 {
		e.Errorf("%d recording files left by a voicemail that was not committed", files)
	}
	if list, _, _ := e.s.ListTickets(e.ctx, TicketFilter{}, Page{}); len(list) != 0 {
		e.Errorf("tickets %v from a rolled-back voicemail", list)
	}
	if got := e.outbox(); len(got) != 0 {
		e.Errorf("outbox %v from a rolled-back voicemail", got)
	}
	// The number is not used up either.
	tk, err := e.s.CreateTicket(e.ctx, NewTicket{Subject: "first"})
	e.must(err)
	if tk.Number != "T-000001" {
		e.Errorf("first committed ticket is %s", tk.Number)
	}
}

func testTickets(e *env) {
	c, _ := e.s.FindOrCreateByNumber(e.ctx, "+8613800138000")
	tk, err := e.s.CreateTicket(e.ctx, NewTicket{CustomerID: c.ID, Queue: "billing", Subject: "Refund", Priority: PriorityHigh,
		Note: "asked twice", Author: "1001"})
	e.must(err)
	if tk.Kind != KindManual || tk.Priority != PriorityHigh || len(tk.Notes) != 1 || tk.Notes[0].Body != "asked twice" {
		e.Errorf("created: %+v", tk)
	}
	e.clk.Advance(time.Hour)
	_, err = e.s.AddTicketNote(e.ctx, tk.Number, "1002", "refunded")
	e.must(err)
	solved, err := e.s.UpdateTicket(e.ctx, tk.Number, TicketUpdate{Status: ptr(TicketSolved), Assignee: ptr("1002")})
	e.must(err)
	if solved.Status != TicketSolved || !solved.SolvedAt.Equal(e.clk.Now()) || solved.Assignee != "1002" || len(solved.Notes) != 2 {
		e.Errorf("solved: %+v", solved)
	}
	reopened, err := e.s.UpdateTicket(e.ctx, tk.ID, TicketUpdate{Status: ptr(TicketOpen)})
	e.must(err)
	if !reopened.SolvedAt.IsZero() {
		e.Error("a reopened ticket keeps its solved time")
	}
	if _, err := e.s.UpdateTicket(e.ctx, tk.ID, TicketUpdate{Priority: ptr(TicketPriority("asap"))}); !errors.Is(err, ErrInvalid) {
		e.Errorf("priority asap: %v, want ErrInvalid", err)
	}
	if _, err := e.s.UpdateTicket(e.ctx, tk.ID, TicketUpdate{Status: ptr(TicketStatus("closed"))}); !errors.Is(err, ErrInvalid) {
		e.Errorf("status closed: %v, want ErrInvalid", err)
	}
	if _, err := e.s.CreateTicket(e.ctx, NewTicket{Subject: " "}); !errors.Is(err, ErrInvalid) {
		e.Errorf("no subject: %v", err)
	}
	if _, err := e.s.Ticket(e.ctx, "T-999999"); !errors.Is(err, ErrNotFound) {
		e.Errorf("missing ticket: %v", err)
	}
	for i := 0; i < 4; i++ {
		_, err := e.s.CreateTicket(e.ctx, NewTicket{Queue: "support", Subject: "s"})
		e.must(err)
	}
	open, _, err := e.s.ListTickets(e.ctx, TicketFilter{Queue: "support", Statuses: []TicketStatus{TicketOpen}}, Page{Limit: 3})
	e.must(err)
	if len(open) != 3 {
		e.Errorf("first page of open support tickets: %d, want 3", len(open))
	}
	mine, _, err := e.s.ListTickets(e.ctx, TicketFilter{CustomerID: c.ID}, Page{})
	e.must(err)
	if len(mine) != 1 || mine[0].ID != tk.ID {
		e.Errorf("customer's tickets: %v", mine)
	}
}
