package center

import (
	"encoding/binary"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-cc/hotline/audio"
	"github.com/hotline-cc/hotline/internal/testenv"
)

// udpCapture records the UDP payloads that cross the loopback interface to or from a set
// of ports, as a packet capture would (an AF_PACKET socket: what is on the wire, not what
// either end says it sent). It needs CAP_NET_RAW, which the CI machine's root has.
type udpCapture struct {
	fd      int
	ports   map[uint16]bool
	stopped atomic.Bool
	done    chan struct{}

	mu  sync.Mutex
	got [][]byte
}

func captureUDP(t *testing.T, ports ...int) *udpCapture {
	t.Helper()
	const ethPAll = 0x0300 // htons(ETH_P_ALL)
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW, ethPAll)
	if err != nil {
		testenv.Missing(t, "a packet capture socket (AF_PACKET needs CAP_NET_RAW): %v", err)
	}
	lo, err := loopbackIndex()
	if err != nil {
		syscall.Close(fd)
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrLinklayer{Protocol: ethPAll, Ifindex: lo}); err != nil {
		syscall.Close(fd)
		t.Fatal(err)
	}
	tv := syscall.NsecToTimeval(int64(200 * time.Millisecond))
	syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
	c := &udpCapture{fd: fd, ports: map[uint16]bool{}, done: make(chan struct{})}
	for _, p := range ports {
		c.ports[uint16(p)] = true
	}
	go c.run()
	t.Cleanup(c.stop)
	return c
}

func loopbackIndex() (int, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return 0, err
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 {
			return i.Index, nil
		}
	}
	return 0, syscall.ENODEV
}

func (c *udpCapture) run() {
	defer close(c.done)
	buf := make([]byte, 65536)
	for {
		n, from, err := syscall.Recvfrom(c.fd, buf, 0)
		if err != nil {
			if (err == syscall.EAGAIN || err == syscall.EINTR) && !c.stopped.Load() {
				continue
			}
			return
		}
		if ll, ok := from.(*syscall.SockaddrLinklayer); ok && ll.Pkttype == 4 { // PACKET_OUTGOING: each loopback packet is seen leaving and arriving
			continue
		}
		c.take(buf[:n])
		if c.stopped.Load() {
			return
		}
	}
}

// take keeps the UDP payload of an Ethernet+IPv4 frame to or from one of the ports.
func (c *udpCapture) take(f []byte) {
	if len(f) < 14+20+8 || binary.BigEndian.Uint16(f[12:14]) != 0x0800 {
		return
	}
	ip := f[14:]
	ihl := int(ip[0]&0x0f) * 4
	if ip[9] != 17 || len(ip) < ihl+8 {
		return
	}
	udp := ip[ihl:]
	src, dst := binary.BigEndian.Uint16(udp[0:2]), binary.BigEndian.Uint16(udp[2:4])
	if !c.ports[src] && !c.ports[dst] {
		return
	}
	c.mu.Lock()
	c.got = append(c.got, append([]byte(nil), udp[8:]...))
	c.mu.Unlock()
}

func (c *udpCapture) stop() {
	if c.stopped.Swap(true) {
		return
	}
	<-c.done // the read times out within 200 ms and sees stopped
	syscall.Close(c.fd)
}

// payloads is what was captured so far.
func (c *udpCapture) payloads() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.got...)
}

// rtpSeen sums up captured RTP: packets (RTP version 2, G.711 payload type), how many of them
// carry one of the tones in the clear, and the payload sizes seen (SRTP adds its
// authentication tag: 10 bytes with the _80 suites).
type rtpSeen struct {
	packets, plainTone int
	sizes              map[int]int
}

func summarizeRTP(payloads [][]byte, tones ...float64) rtpSeen {
	s := rtpSeen{sizes: map[int]int{}}
	pcm := make([]int16, 0, 160)
	for _, p := range payloads {
		if len(p) < 12+160 || p[0]>>6 != 2 {
			continue
		}
		pt := p[1] & 0x7f
		if pt != 0 && pt != 8 {
			continue
		}
		s.packets++
		s.sizes[len(p)-12]++
		pcm = pcm[:0]
		for _, b := range p[12 : 12+160] {
			if pt == 0 {
				pcm = append(pcm, audio.ULawDecode(b))
			} else {
				pcm = append(pcm, audio.ALawDecode(b))
			}
		}
		for _, hz := range tones {
			if audio.RMS(pcm) > 300 && toneShare(pcm, 8000, hz) > 0.5 {
				s.plainTone++
				break
			}
		}
	}
	return s
}
