package sip_test

import (
	"testing"

	"github.com/hotline-cc/hotline/sip"
	"github.com/hotline-cc/hotline/sip/bindingstest"
)

// The memory store has the behaviour every store must have.
func TestMemoryBindings(t *testing.T) {
	bindingstest.Run(t, func(*testing.T) (sip.Bindings, sip.Bindings) {
		s := sip.NewMemoryBindings()
		return s, s
	})
}
