package center

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/cluster"
	"github.com/hotline-cc/hotline/sip"
)

// site is this node's part in a contact center of several nodes (cluster.shared): the Redis
// client the shared distributor and the shared registrations use, and the replica until it
// runs. Without cluster.shared it is empty and the distributor is this node's own.
type site struct {
	rdb     *redis.Client
	replica *cluster.Replica
	failed  chan error    // the shared distributor stopped: this node can no longer route
	done    chan struct{} // closed when the replica has stopped (and left the site)
}

// openACD builds the distributor: in memory for one node, or this node's replica of the
// site's shared distributor. A replica is up to date with the site when it returns; start
// must run before the first request (it applies what the other nodes ask).
func (c *Center) openACD() (acd.Engine, error) {
	cfg := c.cfg
	if !cfg.Cluster.Shared {
		return acd.New(ACDConfig(cfg), acd.SystemClock{}, acd.WithObserver(observer{c}))
	}
	c.site.rdb = redis.NewClient(&redis.Options{Addr: cfg.Redis.Addr, DialTimeout: 2 * time.Second,
		ReadTimeout: 3 * time.Second, WriteTimeout: 2 * time.Second})
	ctx, cancel := context.WithTimeout(c.ctx, 15*time.Second)
	defer cancel()
	r, err := cluster.Open(ctx, cluster.Config{
		Redis: c.site.rdb, Prefix: cfg.Cluster.Prefix, Node: cfg.Cluster.Node, ACD: ACDConfig(cfg),
		DeadAfter: cfg.Cluster.DeadAfter.D(), Observer: observer{c}, Log: c.log,
	})
	if err != nil {
		_ = c.site.rdb.Close()
		return nil, fmt.Errorf("cluster.shared (redis %s): %w", cfg.Redis.Addr, err)
	}
	c.site.replica = r
	c.site.failed = make(chan error, 1)
	return r, nil
}

// startACD starts applying the site's shared distributor (nothing for one node). Its actions
// for this node, asked by other nodes' requests, go to the waiting room.
func (c *Center) startACD() {
	r := c.site.replica
	if r == nil {
		return
	}
	c.site.done = make(chan struct{})
	go func() {
		defer close(c.site.done)
		if err := r.Run(c.ctx, c.room.Apply); err != nil {
			c.log.Error("the shared distributor stopped: this node stops (restart it to rejoin the site)", "error", err)
			c.site.failed <- err
		}
	}()
}

// siteBindings is where the native registrar keeps agents' registrations: with
// cluster.shared in Redis, so a phone registered through any node is reachable from every
// node (nil: this node's memory).
func (c *Center) siteBindings() sip.Bindings {
	if c.site.rdb == nil {
		return nil
	}
	return cluster.NewBindings(c.site.rdb, c.cfg.Cluster.Prefix)
}

// siteNode names this node in its registrations ("" on its own).
func (c *Center) siteNode() string {
	if c.site.rdb == nil {
		return ""
	}
	return c.cfg.Cluster.Node
}

// closeSite stops the replica, which leaves the site, and releases the Redis client; the
// node's other parts have stopped.
func (c *Center) closeSite() {
	c.stop()
	if c.site.done != nil {
		<-c.site.done
	}
	if c.site.rdb != nil {
		_ = c.site.rdb.Close()
	}
}
