package callgen

import (
	"encoding/binary"
	"syscall"
	"unsafe"
)

// OOBSize is room for the control messages a receive asks for: SCM_TIMESTAMPNS and
// SO_RXQ_OVFL.
var OOBSize = syscall.CmsgSpace(16) + syscall.CmsgSpace(4)

// Control is what the control messages of one recvmsg said.
type Control struct {
	At      int64  // kernel receive time, ns since the epoch (SCM_TIMESTAMPNS); 0 if none
	Drops   uint32 // datagrams the socket has dropped so far, its buffer full (SO_RXQ_OVFL)
	HasDrop bool   // the kernel sent a drop count (only once the socket has dropped one)
}

// ParseControl reads the oob bytes of a recvmsg (socket(7): SO_TIMESTAMPNS, SO_RXQ_OVFL). It
// reads each cmsghdr in place: a receive path of 200,000 packets a second allocates nothing.
func ParseControl(oob []byte) Control {
	var c Control
	for len(oob) >= syscall.SizeofCmsghdr {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0])) // CmsgSpace keeps each header aligned
		l := int(h.Len)
		if l < syscall.SizeofCmsghdr || l > len(oob) {
			break
		}
		data := oob[syscall.CmsgLen(0):l]
		switch {
		case h.Level != syscall.SOL_SOCKET:
		case h.Type == syscall.SCM_TIMESTAMPNS && len(data) >= 16:
			sec := int64(binary.NativeEndian.Uint64(data[0:8]))
			nsec := int64(binary.NativeEndian.Uint64(data[8:16]))
			c.At = sec*1e9 + nsec
		case h.Type == syscall.SO_RXQ_OVFL && len(data) >= 4:
			c.Drops, c.HasDrop = binary.NativeEndian.Uint32(data), true
		}
		oob = oob[min(syscall.CmsgSpace(l-syscall.CmsgLen(0)), len(oob)):]
	}
	return c
}
