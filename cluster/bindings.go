package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/redis/go-redis/v9"

	hsip "github.com/hotline-cc/hotline/sip"
)

// NewBindings is a registrar's store of bindings in Redis, shared by the nodes of a site so
// that any node reaches a phone whichever node took its REGISTER (see sip.Bindings).
//
// Keys: the hash <prefix>:binding:<agent> (field: the contact address, value: the binding
// as JSON) and the sorted set <prefix>:bindings of "agent\x00contact" scored by expiry in
// Unix milliseconds, which Expire reads to remove what is due from both in one script. The
// scripts name the per-agent hashes themselves, so the store wants one Redis (standalone or
// behind Sentinel), as the shared distributor does, not Redis Cluster.
//
// Expiry times are the registrar's clock's, never Redis's.
func NewBindings(rdb redis.UniversalClient, prefix string) hsip.Bindings {
	if prefix == "" {
		prefix = "hotline"
	}
	return &redisBindings{rdb: rdb, prefix: prefix, index: prefix + ":bindings"}
}

type redisBindings struct {
	rdb    redis.UniversalClient
	prefix string
	index  string // the sorted set of every binding by expiry
}

func (s *redisBindings) hash(agent string) string { return s.prefix + ":binding:" + agent }

func member(agent, contact string) string { return agent + "\x00" + contact }

// storedBinding is a binding as the JSON in its hash field.
type storedBinding struct {
	Agent     string    `json:"agent"`
	Contact   string    `json:"contact"` // the whole Contact URI, parameters included
	Source    string    `json:"source,omitempty"`
	Transport string    `json:"transport,omitempty"`
	Proxied   bool      `json:"proxied,omitempty"`
	CallID    string    `json:"call_id,omitempty"`
	CSeq      uint32    `json:"cseq,omitempty"`
	Expires   time.Time `json:"expires"`
	UserAgent string    `json:"user_agent,omitempty"`
	Node      string    `json:"node,omitempty"`
}

func (s *redisBindings) List(ctx context.Context, agent string, now time.Time) ([]hsip.Binding, error) {
	fields, err := s.rdb.HGetAll(ctx, s.hash(agent)).Result()
	if err != nil {
		return nil, fmt.Errorf("cluster: bindings of agent %s: %w", agent, err)
	}
	out := make([]hsip.Binding, 0, len(fields))
	for contact, v := range fields {
		var sb storedBinding
		if err := json.Unmarshal([]byte(v), &sb); err != nil {
			return nil, fmt.Errorf("cluster: binding %s of agent %s in %s: %w", contact, agent, s.hash(agent), err)
		}
		if now.After(sb.Expires) {
			continue // due, and not yet removed by an Expire
		}
		var u sip.Uri
		if err := sip.ParseUri(sb.Contact, &u); err != nil {
			return nil, fmt.Errorf("cluster: binding of agent %s in %s: contact %q: %w", agent, s.hash(agent), sb.Contact, err)
		}
		out = append(out, hsip.Binding{
			Agent: sb.Agent, Contact: u, Source: sb.Source, Transport: sb.Transport, Proxied: sb.Proxied,
			CallID: sb.CallID, CSeq: sb.CSeq, Expires: sb.Expires, UserAgent: sb.UserAgent, Node: sb.Node,
		})
	}
	hsip.SortBindings(out)
	return out, nil
}

func (s *redisBindings) Put(ctx context.Context, b hsip.Binding) error {
	contact := b.Contact.Addr()
	v, err := json.Marshal(storedBinding{
		Agent: b.Agent, Contact: b.Contact.String(), Source: b.Source, Transport: b.Transport, Proxied: b.Proxied,
		CallID: b.CallID, CSeq: b.CSeq, Expires: b.Expires, UserAgent: b.UserAgent, Node: b.Node,
	})
	if err != nil {
		return fmt.Errorf("cluster: binding %s of agent %s: %w", contact, b.Agent, err)
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.hash(b.Agent), contact, v)
		p.ZAdd(ctx, s.index, redis.Z{Score: float64(b.Expires.UnixMilli()), Member: member(b.Agent, contact)})
		return nil
	})
	if err != nil {
		return fmt.Errorf("cluster: storing binding %s of agent %s: %w", contact, b.Agent, err)
	}
	return nil
}

func (s *redisBindings) Remove(ctx context.Context, agent, contactAddr string) error {
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HDel(ctx, s.hash(agent), contactAddr)
		p.ZRem(ctx, s.index, member(agent, contactAddr))
		return nil
	})
	if err != nil {
		return fmt.Errorf("cluster: removing binding %s of agent %s: %w", contactAddr, agent, err)
	}
	return nil
}

// removeAllScript deletes an agent's hash and its entries in the index.
// KEYS: the agent's hash, the index. ARGV: the agent.
var removeAllScript = redis.NewScript(`
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  redis.call('ZREM', KEYS[2], ARGV[1] .. '\0' .. f)
end
return redis.call('DEL', KEYS[1])
`)

func (s *redisBindings) RemoveAll(ctx context.Context, agent string) error {
	if err := removeAllScript.Run(ctx, s.rdb, []string{s.hash(agent), s.index}, agent).Err(); err != nil {
		return fmt.Errorf("cluster: removing the bindings of agent %s: %w", agent, err)
	}
	return nil
}

// expireScript removes the bindings due before ARGV[1] (Unix ms) from the index and their
// hashes, and returns the agents whose hash this call emptied, then the bindings left.
// KEYS: the index. ARGV: now, the hash keys' prefix (<prefix>:binding:).
var expireScript = redis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
local gone = {}
for _, m in ipairs(due) do
  local sep = string.find(m, '\0', 1, true)
  if sep then
    local agent = string.sub(m, 1, sep - 1)
    local h = ARGV[2] .. agent
    if redis.call('HDEL', h, string.sub(m, sep + 1)) == 1 and redis.call('HLEN', h) == 0 then
      table.insert(gone, agent)
    end
  end
  redis.call('ZREM', KEYS[1], m)
end
return {gone, redis.call('ZCARD', KEYS[1])}
`)

func (s *redisBindings) Expire(ctx context.Context, now time.Time) ([]string, int, error) {
	res, err := expireScript.Run(ctx, s.rdb, []string{s.index}, strconv.FormatInt(now.UnixMilli(), 10), s.prefix+":binding:").Slice()
	if err != nil {
		return nil, 0, fmt.Errorf("cluster: expiring bindings in %s: %w", s.index, err)
	}
	if len(res) != 2 {
		return nil, 0, fmt.Errorf("cluster: expiring bindings in %s: script returned %d values, want 2", s.index, len(res))
	}
	list, _ := res[0].([]any)
	gone := make([]string, 0, len(list))
	for _, a := range list {
		if a, ok := a.(string); ok {
			gone = append(gone, a)
		}
	}
	total, _ := res[1].(int64)
	return gone, int(total), nil
}

func (s *redisBindings) Count(ctx context.Context, now time.Time) (int, error) {
	n, err := s.rdb.ZCount(ctx, s.index, strconv.FormatInt(now.UnixMilli(), 10), "+inf").Result()
	if err != nil {
		return 0, fmt.Errorf("cluster: counting bindings in %s: %w", s.index, err)
	}
	return int(n), nil
}

var _ hsip.Bindings = (*redisBindings)(nil)
