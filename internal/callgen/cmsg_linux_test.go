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

func TestReceiveTimeFindsTheTimestampAmongOthers(t *testing.T) {
	other := make([]byte, syscall.CmsgSpace(4)) // an IP_TOS-like message first
	h := (*syscall.Cmsghdr)(unsafe.Pointer(&other[0]))
	h.Level, h.Type = syscall.IPPROTO_IP, syscall.IP_TOS
	h.SetLen(syscall.CmsgLen(4))
	oob := append(other, timestampCmsg(1700000000, 123456789)...)
	at, ok := ReceiveTime(oob)
	if !ok || at != 1700000000*1e9+123456789 {
		t.Errorf("ReceiveTime = %d %v, want 1700000000123456789", at, ok)
	}
	if _, ok := ReceiveTime(other); ok {
		t.Error("a timestamp found where there is none")
	}
	if _, ok := ReceiveTime(timestampCmsg(1, 2)[:10]); ok {
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
	b, at, errno := r.recv(fd)
	if errno != 0 || string(b) != "rtp" {
		t.Fatalf("recv: %q %v", b, errno)
	}
	if d := at - sent; d < 0 || d > int64(20*time.Millisecond) {
		t.Errorf("kernel timestamp %v after the send, want within 20 ms of it (read 30 ms later)", time.Duration(d))
	}
	if _, _, errno := r.recv(fd); errno != syscall.EAGAIN {
		t.Errorf("second recv: %v, want EAGAIN", errno)
	}
}
