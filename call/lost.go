package call

// Losable is implemented by legs whose far end can vanish rather than hang up: a browser
// phone whose tab closed or whose network dropped. The conversation puts the caller back in
// line when the agent's leg was lost, instead of ending the call.
type Losable interface {
	// Lost reports whether the leg ended because its far end vanished.
	Lost() bool
}
