package callgen

import (
	"encoding/binary"
	"syscall"
	"unsafe"
)

// OOBSize is room for the control messages a receive asks for: one SCM_TIMESTAMPNS.
var OOBSize = syscall.CmsgSpace(16)

// ReceiveTime returns the kernel receive time (ns since the epoch) carried in the
// SCM_TIMESTAMPNS control message of a recvmsg's oob bytes (socket(7) SO_TIMESTAMPNS), and
// false if there is none. It reads the cmsghdr in place: a receive path of 200,000 packets
// a second allocates nothing.
func ReceiveTime(oob []byte) (int64, bool) {
	for len(oob) >= syscall.SizeofCmsghdr {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0])) // CmsgSpace keeps each header aligned
		l := int(h.Len)
		if l < syscall.SizeofCmsghdr || l > len(oob) {
			return 0, false
		}
		data := oob[syscall.CmsgLen(0):l]
		if h.Level == syscall.SOL_SOCKET && h.Type == syscall.SCM_TIMESTAMPNS && len(data) >= 16 {
			sec := int64(binary.NativeEndian.Uint64(data[0:8]))
			nsec := int64(binary.NativeEndian.Uint64(data[8:16]))
			return sec*1e9 + nsec, true
		}
		oob = oob[min(syscall.CmsgSpace(l-syscall.CmsgLen(0)), len(oob)):]
	}
	return 0, false
}
