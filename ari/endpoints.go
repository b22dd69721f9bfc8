package ari

import (
	"context"
	"strings"
	"time"
)

// DriverOption configures a Driver (NewDriver).
type DriverOption func(*Driver)

// WithRegistrationHook follows the agents' endpoints, like sip.WithRegistrationHook follows
// REGISTER: f is called with an agent id and 1 when its endpoint goes online (the phone
// registered), 0 when it goes offline. The driver asks Asterisk for every endpoint of the
// agents' technology at start and after each reconnect (GET /endpoints/{tech}), subscribes
// the application to each one's device state (deviceState:TECH/id) and follows
// DeviceStateChanged in between: UNAVAILABLE is offline, any other state online. (An
// endpoint:TECH subscription would bring EndpointStateChange too, but also every event of
// every channel of the technology, twice for channels in the application: see
// ari/testdata/asterisk22/README.md.) f runs
// on a goroutine of its own, one call at a time, in the order Asterisk reported; it may be
// called for endpoints that are not agents (the trunk), which the caller ignores.
//
// It needs an endpoint template of the form TECH/%s (PJSIP/%s): with text after %s the
// endpoint's name does not say which agent it is, and FollowsRegistration reports false.
func WithRegistrationHook(f func(agent string, contacts int)) DriverOption {
	return func(d *Driver) { d.regHook = f }
}

// FollowsRegistration reports whether the driver calls the registration hook: one was given
// and the endpoint template names the agent's endpoint (TECH/%s).
func (d *Driver) FollowsRegistration() bool {
	_, ok := d.endpointTech()
	return d.regHook != nil && ok
}

// endpointTech is TECH of a TECH/%s template.
func (d *Driver) endpointTech() (string, bool) {
	tech, rest, ok := strings.Cut(d.cfg.Endpoint, "/")
	return tech, ok && rest == "%s" && tech != ""
}

// contacts is what an endpoint state means for the hook.
func contacts(state string) int {
	if state == "online" {
		return 1
	}
	return 0
}

// registered queues a hook call; the queue is never full for long (one entry per endpoint
// state change), and a full queue drops nothing: it waits.
func (d *Driver) registered(agent string, n int) {
	d.regMu.Lock()
	if d.regLast[agent] == n+1 { // the same as last reported: nothing changed
		d.regMu.Unlock()
		return
	}
	d.regLast[agent] = n + 1
	d.regQ = append(d.regQ, regChange{agent, n})
	d.regMu.Unlock()
	select {
	case d.regWake <- struct{}{}:
	default:
	}
}

type regChange struct {
	agent    string
	contacts int
}

// runRegistrations calls the hook for queued changes until ctx ends.
func (d *Driver) runRegistrations(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.regWake:
		}
		for {
			d.regMu.Lock()
			if len(d.regQ) == 0 {
				d.regMu.Unlock()
				break
			}
			ch := d.regQ[0]
			d.regQ = d.regQ[1:]
			d.regMu.Unlock()
			d.log.Info("agent endpoint", "agent", ch.agent, "online", ch.contacts > 0)
			d.regHook(ch.agent, ch.contacts)
		}
	}
}

// onDeviceState runs on the event reader for DeviceStateChanged.
func (d *Driver) onDeviceState(ev Event) {
	e, ok := ev.(*DeviceStateChanged)
	if !ok {
		return
	}
	tech, _ := d.endpointTech()
	t, res, ok := strings.Cut(e.DeviceState.Name, "/")
	if !ok || !strings.EqualFold(t, tech) || res == "" {
		return
	}
	n := 1
	if e.DeviceState.State == "UNAVAILABLE" || e.DeviceState.State == "INVALID" {
		n = 0
	}
	d.registered(res, n)
}

// syncEndpoints runs after every (re)connection: read the endpoints' states, so a phone that
// registered or left while hotline was not listening is seen, and subscribe to each one's
// device state. It retries with the client's backoff while ctx lasts.
func (d *Driver) syncEndpoints(ctx context.Context, _ bool) {
	tech, _ := d.endpointTech()
	for try := 0; ; try++ {
		list, err := d.c.Endpoints(ctx, tech)
		if err == nil {
			for _, ep := range list {
				if ep.Resource == "" {
					continue
				}
				if err = d.c.SubscribeApp(ctx, "deviceState:"+tech+"/"+ep.Resource); err != nil {
					break
				}
				d.registered(ep.Resource, contacts(ep.State))
			}
		}
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			return
		}
		d.log.Warn("cannot read the agents' endpoints from Asterisk; retrying", "try", try+1, "error", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(d.c.backoff(try)):
		}
	}
}
