package dashboard

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves goroutines behind: an event stream that did not
// end, the hub of a server that was not closed.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
