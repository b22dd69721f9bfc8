package deploy

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/hotline-cc/hotline/internal/sipptest"
	"github.com/hotline-cc/hotline/internal/testenv"
)

// fakeNode is a hotline node as Kamailio sees it, on a UDP socket: it answers OPTIONS (unless
// silent), REGISTER with 200, INVITE with 486 (or 503, or nothing), and records what came.
type fakeNode struct {
	name string
	conn *net.UDPConn

	mu        sync.Mutex
	mode      string   // "ok", "503" (refuses calls), "silent" (a dead node)
	invites   []string // Call-IDs
	registers []string // To users
	replies   []int    // status codes of responses it got (to its own requests)
}

func newFakeNode(t *testing.T, name, mode string) *fakeNode {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	n := &fakeNode{name: name, conn: c, mode: mode}
	t.Cleanup(func() { c.Close() })
	go n.serve()
	return n
}

func (n *fakeNode) addr() string { return n.conn.LocalAddr().String() }

func (n *fakeNode) serve() {
	buf := make([]byte, 65535)
	for {
		k, from, err := n.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		msg, err := sip.ParseMessage(append([]byte(nil), buf[:k]...))
		if err != nil {
			continue
		}
		if res, ok := msg.(*sip.Response); ok {
			n.mu.Lock()
			n.replies = append(n.replies, res.StatusCode)
			n.mu.Unlock()
			continue
		}
		req := msg.(*sip.Request)
		answer := func(code int, reason string) {
			res := sip.NewResponseFromRequest(req, code, reason, nil)
			_, _ = n.conn.WriteToUDP([]byte(res.String()), from)
		}
		n.mu.Lock()
		switch req.Method {
		case sip.INVITE:
			n.invites = append(n.invites, req.CallID().Value())
		case sip.REGISTER:
			n.registers = append(n.registers, req.To().Address.User)
		}
		mode := n.mode
		n.mu.Unlock()
		if mode == "silent" {
			continue
		}
		switch req.Method {
		case sip.OPTIONS, sip.REGISTER:
			answer(200, "OK")
		case sip.INVITE:
			if mode == "503" {
				answer(503, "Service Unavailable")
			} else {
				answer(486, "Busy Here")
			}
		}
	}
}

func (n *fakeNode) setMode(m string) { n.mu.Lock(); n.mode = m; n.mu.Unlock() }

func (n *fakeNode) counts() (invites, registers int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.invites), len(n.registers)
}

// sipRequest is the text of an out-of-dialog request from a UDP socket at from.
func sipRequest(method, ruri, from, toUser, callID string) string {
	return fmt.Sprintf("%[1]s %[2]s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %[3]s;branch=z9hG4bK-%[5]s;rport\r\n"+
		"From: <sip:caller@%[3]s>;tag=t-%[5]s\r\n"+
		"To: <sip:%[4]s@127.0.0.1>\r\n"+
		"Call-ID: %[5]s\r\n"+
		"CSeq: 1 %[1]s\r\n"+
		"Contact: <sip:caller@%[3]s>\r\n"+
		"Max-Forwards: 70\r\n"+
		"Content-Length: 0\r\n\r\n", method, ruri, from, toUser, callID)
}

// finalResponse sends req from c to dst and waits for its final response (of its Call-ID:
// a negative one is retransmitted until ACKed, which it is).
func finalResponse(t *testing.T, c *net.UDPConn, dst, req string, within time.Duration) (*sip.Response, time.Duration) {
	t.Helper()
	r, err := sip.ParseMessage([]byte(req))
	if err != nil {
		t.Fatal(err)
	}
	sent := r.(*sip.Request)
	raddr, _ := net.ResolveUDPAddr("udp", dst)
	start := time.Now()
	if _, err := c.WriteToUDP([]byte(req), raddr); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	_ = c.SetReadDeadline(start.Add(within))
	for {
		k, _, err := c.ReadFromUDP(buf)
		if err != nil {
			return nil, time.Since(start)
		}
		msg, err := sip.ParseMessage(append([]byte(nil), buf[:k]...))
		res, ok := msg.(*sip.Response)
		if err != nil || !ok || res.StatusCode < 200 || res.CallID().Value() != sent.CallID().Value() {
			continue
		}
		if sent.Method == sip.INVITE { // RFC 3261 §17.1.1.3: the ACK of a non-2xx, hop by hop
			ack := fmt.Sprintf("ACK %s SIP/2.0\r\n%s\r\n%s\r\n%s\r\n%s\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
				sent.Recipient.String(), sent.Via().String(), sent.From().String(), res.To().String(), sent.CallID().String())
			_, _ = c.WriteToUDP([]byte(ack), raddr)
		}
		return res, time.Since(start)
	}
}

// kamailio.cfg run for real on loopback with three fake nodes: one dead (silent), one that
// refuses calls with 503, one that answers. Every call reaches the answering node, failing
// over within the timers; the dead node is taken out of rotation by the probes and then gets
// nothing; an agent's REGISTERs all go to one node; a node's INVITE to a phone is relayed to
// the phone (Record-Route added), not dispatched to a node.
func TestKamailioSpreadsAndFailsOver(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Kamailio for several seconds")
	}
	kam := testenv.Tool(t, "kamailio")
	dead, refusing, live := newFakeNode(t, "dead", "silent"), newFakeNode(t, "refusing", "503"), newFakeNode(t, "live", "ok")
	dir := t.TempDir()
	list := filepath.Join(dir, "dispatcher.list")
	var lines []string
	for i, n := range []*fakeNode{dead, refusing, live} {
		lines = append(lines, fmt.Sprintf("1 sip:%s;transport=udp 8 %d duid=%s", n.addr(), 30-10*i, n.name))
	}
	if err := os.WriteFile(list, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	port := sipptest.FreeUDPPort(t)
	proxy := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(kam, "-DD", "-E", "-n", "2", "-m", "32", "-Y", dir, "-w", dir, "-f", "kamailio/kamailio.cfg",
		"-A", fmt.Sprintf("LISTEN=udp:%s", proxy), "-A", fmt.Sprintf("LISTEN_TCP=tcp:%s", proxy),
		"-A", `DISPATCHER_LIST="`+list+`"`)
	// Kamailio forks its workers: they are its process group, ended together; its log goes
	// to a file (a pipe would stay open in the workers).
	logFile, err := os.Create(filepath.Join(dir, "kamailio.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logFile.Name())
			t.Logf("kamailio:\n%s", b)
		}
	})
	phone, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer phone.Close()
	me := phone.LocalAddr().String()
	// Kamailio is up when it answers an OPTIONS to itself.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if res, _ := finalResponse(t, phone, proxy, sipRequest("OPTIONS", "sip:"+proxy, me, "ping", fmt.Sprintf("up-%d", time.Now().UnixNano())), 300*time.Millisecond); res != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("kamailio does not answer OPTIONS")
		}
	}
	start := time.Now()

	// The probes take the dead node out before any call: at most about 3 s (a ping every
	// second, each failing after FR_NODE 1000 ms, two failures).
	time.Sleep(time.Until(start.Add(4 * time.Second)))
	for i := range 6 {
		if res, took := finalResponse(t, phone, proxy, sipRequest("INVITE", "sip:hotline@"+proxy, me, "hotline", fmt.Sprintf("call-a%d", i)), 5*time.Second); res == nil || res.StatusCode != 486 || took > 500*time.Millisecond {
			t.Errorf("call %d: %v after %v; want the live node's 486 at once (the refusing node's 503 fails over)", i, res, took)
		}
	}
	li, _ := live.counts()
	di, _ := dead.counts()
	ri, _ := refusing.counts()
	t.Logf("6 calls 4 s after start, one node dead from the start, one refusing: live %d, dead %d, refusing %d", li, di, ri)
	if li != 6 || di != 0 {
		t.Errorf("the live node got %d of the 6 calls, the dead node %d; the probes should have taken it out", li, di)
	}

	// REGISTERs: one agent, one node (the refusing node takes REGISTERs: only its calls fail).
	_, rr0 := refusing.counts()
	_, lr0 := live.counts()
	for i := range 4 {
		if res, _ := finalResponse(t, phone, proxy, sipRequest("REGISTER", "sip:"+proxy, me, "1001", fmt.Sprintf("reg-1001-%d", i)), 3*time.Second); res == nil || res.StatusCode != 200 {
			t.Fatalf("REGISTER %d of 1001: %v", i, res)
		}
	}
	_, rr1 := refusing.counts()
	_, lr1 := live.counts()
	if !(rr1-rr0 == 4 && lr1 == lr0) && !(lr1-lr0 == 4 && rr1 == rr0) {
		t.Errorf("1001's 4 REGISTERs went %d to one node and %d to another; want all to one", rr1-rr0, lr1-lr0)
	}

	// The refusing node dies: calls hashed to it time out after FR_NODE and go on.
	refusing.setMode("silent")
	var slowest time.Duration
	for i := range 6 {
		res, took := finalResponse(t, phone, proxy, sipRequest("INVITE", "sip:hotline@"+proxy, me, "hotline", fmt.Sprintf("call-b%d", i)), 5*time.Second)
		if res == nil || res.StatusCode != 486 {
			t.Fatalf("call %d after a node died: %v after %v; want the live node's 486", i, res, took)
		}
		slowest = max(slowest, took)
	}
	t.Logf("6 calls just after a node died: slowest answered in %v", slowest.Round(10*time.Millisecond))
	if slowest > 2500*time.Millisecond {
		t.Errorf("a call took %v to fail over; FR_NODE is 1000 ms", slowest)
	}

	// A node's INVITE to a phone: relayed to the phone's contact, in the dialog's path.
	phoneURI := "sip:1001@" + me
	req := sipRequest("INVITE", phoneURI, live.addr(), "1001", "to-agent-1")
	raddr, _ := net.ResolveUDPAddr("udp", proxy)
	if _, err := live.conn.WriteToUDP([]byte(req), raddr); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	_ = phone.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		k, from, err := phone.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("the phone got no INVITE from the node through Kamailio: %v", err)
		}
		msg, err := sip.ParseMessage(append([]byte(nil), buf[:k]...))
		inv, ok := msg.(*sip.Request)
		if err != nil || !ok || inv.Method != sip.INVITE {
			continue
		}
		if from.String() != proxy || inv.GetHeader("Record-Route") == nil || len(inv.GetHeaders("Via")) != 2 {
			t.Errorf("INVITE at the phone from %s, Record-Route %v, %d Vias; want it from Kamailio %s, record-routed, two Vias",
				from, inv.GetHeader("Record-Route"), len(inv.GetHeaders("Via")), proxy)
		}
		res := sip.NewResponseFromRequest(inv, 486, "Busy Here", nil)
		_, _ = phone.WriteToUDP([]byte(res.String()), from)
		break
	}
	deadline = time.Now().Add(3 * time.Second)
	for {
		live.mu.Lock()
		got := append([]int(nil), live.replies...)
		live.mu.Unlock()
		if len(got) > 0 && got[len(got)-1] >= 200 {
			if got[len(got)-1] != 486 {
				t.Errorf("the node got %v for its INVITE; want the phone's 486", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the phone's answer did not come back to the node")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if li, _ := live.counts(); li != 12 {
		t.Errorf("the live node got %d INVITEs; its own INVITE to the phone must not come back to a node", li)
	}
}
