package testenv

import (
	"bytes"
	"sync"
)

// Output collects what a process or a logger writes (exec's copying goroutines, a server's
// handler) while the test reads it: a bytes.Buffer behind a lock.
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}
