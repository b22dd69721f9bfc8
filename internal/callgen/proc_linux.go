package callgen

import (
	"bytes"
	"os"
	"strconv"
	"time"
)

// The figures are only as good as the cores were quiet: procfs tells how much CPU hotline,
// callgen and everything else on the machine used during a run. Times in /proc are in
// USER_HZ ticks, 100 a second on every Linux ABI Go supports.
const userHZ = 100

// procRSS returns a process's resident memory (VmRSS in /proc/PID/status, KiB), 0 if unknown.
func procRSS(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	_, rest, ok := bytes.Cut(b, []byte("VmRSS:"))
	if !ok {
		return 0
	}
	f := bytes.Fields(rest)
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.ParseInt(string(f[0]), 10, 64)
	return n
}

// procCPU returns a process's user+system CPU time (/proc/PID/stat fields 14 and 15).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')') // the command name may hold spaces
	if i < 0 {
		return 0
	}
	f := bytes.Fields(b[i+1:]) // from field 3, the state
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(string(f[11]), 10, 64)
	s, _ := strconv.ParseInt(string(f[12]), 10, 64)
	return time.Duration(u+s) * time.Second / userHZ
}

// machineBusy returns the CPU time all cores spent running something (the "cpu" line of
// /proc/stat: user, nice, system, and steal: the hypervisor's other guests). Interrupts are
// left out: with IRQ time accounting they hold the kernel's delivery of callgen's and
// hotline's own loopback packets, which no process is charged for.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 9 || string(f[0]) != "cpu" {
		return 0
	}
	var busy int64
	for _, k := range []int{1, 2, 3, 8} {
		n, _ := strconv.ParseInt(string(f[k]), 10, 64)
		busy += n
	}
	return time.Duration(busy) * time.Second / userHZ
}
