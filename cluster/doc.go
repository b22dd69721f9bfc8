// Package cluster lets several hotline nodes serve one contact center.
//
// # The shared distributor
//
// A Replica is an acd.Engine whose state every node shares through Redis. Each node keeps a
// whole acd.Distributor in memory (its replica). No node changes its copy directly: every
// mutating request (a caller joins, an agent answers, a pause, a timer that fell due) is
// appended to one Redis stream (XADD), and every node applies the stream to its copy, entry
// by entry, in the stream's order, on one goroutine. The distributor is deterministic: it
// takes its time from the entry being applied (each carries its proposer's clock; time never
// goes back) and its random choices from a generator seeded alike on every node. So every
// copy takes the same decisions at the same points of the stream.
//
// Each decision is carried out once. What concerns a call (Offer, CancelOffer, Announce,
// OfferCallback, Overflowed, Timeout) is done by the call's owner: the node that put it in
// line. Agent state changes are seen by every node (each shows the site on its dashboard).
// A request returns once its entry has been applied here, with this node's share of what it
// caused; what other nodes' entries ask of this node reaches it through the sink given to
// Run.
//
// A decision costs two round trips to Redis: the append (a script that adds the entry only
// while the site's epoch is this node's), and the stream read already waiting on every node,
// which returns it. Reads (queues, agents, positions) are local. BenchmarkSharedRoutingDecision
// measures a decision at 10,000 waiting callers and 2,000 agents; the tests check that every
// copy takes the in-memory distributor's decisions (the property sequences of acd/acdtest),
// each carried out once, by the call's owner.
//
// # Nodes coming and going
//
// Each node is an incarnation: its name and a random suffix, new at every start. It keeps
// its score in a sorted set of live nodes fresh (the time it may be declared dead). A node
// whose score has passed is declared gone through the stream, by whichever node notices
// first, so every copy agrees on the point where its calls leave: waiting callers as
// abandoned, conversations as hung up (their agents move on to wrap-up).
//
// The first node of a site (no live node in the set) starts a new epoch: it empties the
// stream and records the distributor's configuration; its saved agent states seed the site
// (Restore is applied once per epoch, before anything else). A node that joins a live site
// restores its copy from the site's latest checkpoint and replays the stream from there (see
// checkpoint.go: checkpoints are taken every Config.CheckpointEvery entries and keep the stream
// short). Its queues and agents must match the epoch's configuration, or it refuses to join
// (ErrConfigMismatch, naming the queues and agents that differ). A node started again under the
// same name has its former incarnation declared gone at once.
//
// If Redis loses the site's state (a restart without persistence), the next request of a
// running node fails with ErrUnavailable and its Run returns: the node must be restarted, and
// the first to start again begins a new epoch.
package cluster
