package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	rpprof "runtime/pprof"
)

// profiling is serve's --pprof and --cpuprofile: off unless asked for, and the pprof endpoints
// only on a loopback address, since a profile shows call IDs and the heap shows numbers.
type profiling struct {
	addr, cpuFile string
	srv           *http.Server
	cpu           *os.File
}

// checkPprofAddr refuses an address that is not host:port on a loopback IP (or localhost).
func checkPprofAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--pprof %q: %v (want host:port, e.g. 127.0.0.1:6060)", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--pprof %q: the profiling endpoints listen on loopback only (127.0.0.1 or ::1)", addr)
	}
	return nil
}

// start opens what was asked for; stop must be called when serve returns.
func (p *profiling) start(log *slog.Logger) error {
	if p.cpuFile != "" {
		f, err := os.Create(p.cpuFile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		if err := rpprof.StartCPUProfile(f); err != nil {
			f.Close()
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		p.cpu = f
		log.Warn("writing a CPU profile until hotline stops", "file", p.cpuFile)
	}
	if p.addr != "" {
		ln, err := net.Listen("tcp", p.addr)
		if err != nil {
			p.stop()
			return fmt.Errorf("--pprof: %w", err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		runtime.SetMutexProfileFraction(100)
		runtime.SetBlockProfileRate(100_000) // one sample per 100 µs blocked
		p.srv = &http.Server{Handler: mux}
		go func() {
			if err := p.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("pprof listener stopped", "error", err)
			}
		}()
		log.Warn("pprof endpoints are on", "url", "http://"+ln.Addr().String()+"/debug/pprof/")
	}
	return nil
}

func (p *profiling) stop() {
	if p.srv != nil {
		p.srv.Close()
	}
	if p.cpu != nil {
		rpprof.StopCPUProfile()
		p.cpu.Close()
	}
}
