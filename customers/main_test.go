package customers

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves goroutines behind (a deliverer, a connection pool,
// a Redis client that was not stopped).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
