package callgen

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

func timestampCmsg(sec, nsec int64) []byte {
	b := make([]byte, syscall.CmsgSpace(16))
	h := (*syscall.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = syscall.SOL_SOCKET, syscall.SCM_TIMESTAMPNS
	h.SetLen(syscall.CmsgLen(16))
	binary.NativeEndian.PutUint64(b[syscall.CmsgLen(0):], uint64(sec))
	binary.NativeEndian.PutUint64(b[syscall.CmsgLen(0)+8:], uint64(nsec))
	return b
}

func TestParseControlFindsTimestampAndDrops(t *testing.T) {
	other := make([]byte, syscall.CmsgSpace(4)) // an IP_TOS-like message first
	h := (*syscall.Cmsghdr)(unsafe.Pointer(&other[0]))
	h.Level, h.Type = syscall.IPPROTO_IP, syscall.IP_TOS
	h.SetLen(syscall.CmsgLen(4))
	drops := make([]byte, syscall.CmsgSpace(4))
	h = (*syscall.Cmsghdr)(unsafe.Pointer(&drops[0]))
	h.Level, h.Type = syscall.SOL_SOCKET, syscall.SO_RXQ_OVFL
	h.SetLen(syscall.CmsgLen(4))
	binary.NativeEndian.PutUint32(drops[syscall.CmsgLen(0):], 7)
	oob := append(append(other, timestampCmsg(1700000000, 123456789)...), drops...)
	if c := ParseControl(oob); c.At != 1700000000*1e9+123456789 || !c.HasDrop || c.Drops != 7 {
		t.Errorf("ParseControl = %+v, want At 1700000000123456789 and 7 drops", c)
	}
	if c := ParseControl(other); c.At != 0 || c.HasDrop {
		t.Errorf("ParseControl of an IP_TOS alone = %+v, want nothing", c)
	}
	if c := ParseControl(timestampCmsg(1, 2)[:10]); c.At != 0 {
		t.Error("a truncated control message was read")
	}
}

// The kernel stamps a datagram when it arrives, not when it is read.
func TestReceiverGetsKernelTimestamps(t *testing.T) {
	fd, err := openUDP(netip.MustParseAddr("127.0.0.1"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	// The first socket asking for timestamps turns them on machine-wide from a deferred work
	// item (net_enable_timestamp); until it has run, the kernel stamps at read time.
	time.Sleep(100 * time.Millisecond)
	c, err := net.Dial("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(localPort(fd))))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sent := time.Now().UnixNano()
	if _, err := c.Write([]byte("rtp")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond) // read late: the timestamp must still be the arrival's
	r := newReceiver(1500)
	b, ctl, errno := r.recv(fd)
	if errno != 0 || string(b) != "rtp" {
		t.Fatalf("recv: %q %v", b, errno)
	}
	if d := ctl.At - sent; d < 0 || d > int64(20*time.Millisecond) {
		t.Errorf("kernel timestamp %v after the send, want within 20 ms of it (read 30 ms later)", time.Duration(d))
	}
	if _, _, errno := r.recv(fd); errno != syscall.EAGAIN {
		t.Errorf("second recv: %v, want EAGAIN", errno)
	}
}

// A datagram dropped because callgen's own buffer was full is counted, so it is not taken
// for hotline's loss.
func TestReceiverCountsItsSocketsDrops(t *testing.T) {
	fd, err := openUDP(netip.MustParseAddr("127.0.0.1"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1); err != nil { // the minimum
		t.Fatal(err)
	}
	c, err := net.Dial("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(localPort(fd))))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 50 {
		c.Write(make([]byte, 1000))
	}
	r := newReceiver(1500)
	for { // those queued came before the drops and carry none
		if _, _, errno := r.recv(fd); errno != 0 {
			break
		}
	}
	c.Write([]byte("after"))
	_, ctl, errno := r.recv(fd)
	if errno != 0 || !ctl.HasDrop || ctl.Drops == 0 || ctl.Drops > 50 {
		t.Errorf("the datagram after 50 into a minimal buffer: %+v %v, want the drops counted", ctl, errno)
	}
}
