package cluster

import (
	"context"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"
)

// liveScript returns the live incarnations (scores not yet passed, by Redis's clock).
var liveScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
`)

// Nodes returns the names of the site's live nodes (without their incarnation suffix), sorted:
// what the dashboard shows beside this node's name.
func (r *Replica) Nodes(ctx context.Context) ([]string, error) {
	members, err := liveScript.Run(ctx, r.rdb, []string{r.keys.nodes}).StringSlice()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range members {
		name, _, _ := strings.Cut(m, "/")
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}
