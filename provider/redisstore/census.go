package redisstore

import (
	"cmp"
	"context"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// A census counts the replicas a master has that are up, as the
// topology's own authority sees them: the sentinels, or the Cluster's
// node table. A write waits for all of them (never fewer than
// Durability.MinReplicas), so whichever replica a failover promotes holds
// every acknowledged write. Counting only the replicas connected to the
// master at the moment is not enough: once Sentinel has promoted replica
// A, the old master still takes writes that replica B acknowledges, and
// B then resynchronises from A and drops them.
type census interface {
	// up counts the replicas of the master at addr ("" for the one
	// master a Sentinel group has): those in sync (failoverRunning while
	// the topology is changing its master), and those known, in sync or
	// not, that nothing flags as down.
	up(ctx context.Context, addr string) (count, error)
}

// count is one census of a master's replicas.
type count struct{ synced, known int }

// failoverRunning is what a census counts while a failover is under way:
// more replicas than any master has, so nothing is acknowledged until the
// new master is known.
const failoverRunning = 1 << 20

// censusEvery is how old a count may be before it is taken again.
const censusEvery = 200 * time.Millisecond

// censusCache keeps each master's latest count, and takes it again in the
// background once it is older than censusEvery; a master seen for the
// first time is counted before its write is acknowledged.
type censusCache struct {
	src census

	mu      sync.Mutex
	counts  map[string]censusCount
	pending map[string]bool
}

type censusCount struct {
	count
	at time.Time
}

func newCensusCache(src census) *censusCache {
	return &censusCache{src: src, counts: map[string]censusCount{}, pending: map[string]bool{}}
}

// up is the latest census of the master at addr.
func (c *censusCache) up(ctx context.Context, addr string) count {
	c.mu.Lock()
	got, ok := c.counts[addr]
	refresh := ok && time.Since(got.at) > censusEvery && !c.pending[addr]
	if refresh {
		c.pending[addr] = true
	}
	c.mu.Unlock()
	switch {
	case !ok:
		// The first write on a master waits for its count.
		got = c.take(ctx, addr)
	case refresh:
		go c.take(context.WithoutCancel(ctx), addr)
	}
	return got.count
}

// take counts again. A census that cannot be taken keeps the previous
// count; with none, nothing is acknowledged until one is.
func (c *censusCache) take(ctx context.Context, addr string) censusCount {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	n, err := c.src.up(ctx, addr)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, addr)
	if err != nil {
		if prev, ok := c.counts[addr]; ok {
			return prev
		}
		return censusCount{count: runningCount}
	}
	got := censusCount{count: n, at: time.Now()}
	c.counts[addr] = got
	return got
}

// SentinelCensus asks every sentinel and the replicas themselves. While
// any sentinel reports a failover in progress (only the leader does), or
// the sentinels name different masters (a switch still spreading),
// nothing is acknowledged. Otherwise the replicas of the master that no
// sentinel flags as down or disconnected are known and waited for,
// except those that say themselves (INFO replication) that they are not
// replicas with their link up: a sentinel learns a node's role only on
// its next INFO, up to 10 s later, so it cannot tell a killed master
// restarted and not yet re-pointed from a replica.
type SentinelCensus struct {
	Name      string
	Sentinels []*redis.SentinelClient
	// Node opens a client on a data node the sentinels list.
	Node func(addr string) *redis.Client

	mu    sync.Mutex
	nodes map[string]*redis.Client
}

var runningCount = count{synced: failoverRunning, known: failoverRunning}

// sentinelAnswer is what one sentinel says of the master and its replicas.
type sentinelAnswer struct {
	master   map[string]string
	replicas []map[string]string
	err      error
}

func (g *SentinelCensus) up(ctx context.Context, _ string) (count, error) {
	first, running, err := agreed(g.ask(ctx))
	if running {
		return runningCount, nil
	}
	if first == nil {
		return count{}, err
	}
	up := replicasUp(first.replicas)
	master := net.JoinHostPort(first.master["ip"], first.master["port"])
	lagging := make([]bool, len(up))
	var wg sync.WaitGroup
	for i, addr := range up {
		wg.Go(func() { lagging[i] = g.lagging(ctx, addr, master) })
	}
	wg.Wait()
	n := count{known: len(up)}
	for _, l := range lagging {
		if !l {
			n.synced++
		}
	}
	return n, nil
}

// ask asks every sentinel at once: one that is down costs its timeout
// once, not once per sentinel after it.
func (g *SentinelCensus) ask(ctx context.Context) []sentinelAnswer {
	answers := make([]sentinelAnswer, len(g.Sentinels))
	var wg sync.WaitGroup
	for i, sc := range g.Sentinels {
		wg.Go(func() {
			a := &answers[i]
			if a.master, a.err = sc.Master(ctx, g.Name).Result(); a.err == nil {
				a.replicas, a.err = sc.Replicas(ctx, g.Name).Result()
			}
		})
	}
	wg.Wait()
	return answers
}

// agreed returns the first answer when every sentinel that answered
// names the same master and none reports a failover in progress
// (running otherwise), or the first error when none answered.
func agreed(answers []sentinelAnswer) (first *sentinelAnswer, running bool, err error) {
	named := map[string]bool{}
	for i := range answers {
		a := &answers[i]
		if a.err != nil {
			err = cmp.Or(err, a.err)
			continue
		}
		if strings.Contains(a.master["flags"], "failover_in_progress") {
			return nil, true, nil
		}
		named[net.JoinHostPort(a.master["ip"], a.master["port"])] = true
		if first == nil {
			first = a
		}
	}
	if first == nil {
		return nil, false, err
	}
	return first, len(named) > 1, nil
}

// replicasUp lists the replicas no sentinel flags as down or disconnected.
func replicasUp(replicas []map[string]string) []string {
	var up []string
	for _, r := range replicas {
		flags := r["flags"]
		if strings.Contains(flags, "s_down") || strings.Contains(flags, "o_down") || strings.Contains(flags, "disconnected") {
			continue
		}
		up = append(up, net.JoinHostPort(r["ip"], r["port"]))
	}
	return up
}

// lagging reports whether the node at addr says it is not a replica of
// master with its link up (a restarted node may come back replicating
// from another replica, which WAIT on the master does not count). A node
// that does not answer is waited for until the sentinels flag it down:
// only what a node says of itself lowers the count.
func (g *SentinelCensus) lagging(ctx context.Context, addr, master string) bool {
	if g.Node == nil {
		return false
	}
	g.mu.Lock()
	c, ok := g.nodes[addr]
	if !ok {
		if g.nodes == nil {
			g.nodes = map[string]*redis.Client{}
		}
		c = g.Node(addr)
		g.nodes[addr] = c
	}
	g.mu.Unlock()
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return false
	}
	return infoField(info, "role") != "slave" || infoField(info, "master_link_status") != "up" ||
		net.JoinHostPort(infoField(info, "master_host"), infoField(info, "master_port")) != master
}

// Close closes the clients on the data nodes.
func (g *SentinelCensus) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range g.nodes {
		_ = c.Close()
	}
	g.nodes = nil
}

// clusterCensus reads a Cluster master: the replicas its node table does
// not flag as failing are known, those its INFO replication says are
// online are in sync.
type clusterCensus struct {
	cc *redis.ClusterClient
}

func (c clusterCensus) up(ctx context.Context, addr string) (count, error) {
	node := redis.NewClient(&redis.Options{Addr: addr, Username: c.cc.Options().Username, Password: c.cc.Options().Password,
		TLSConfig: c.cc.Options().TLSConfig, DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1})
	defer node.Close()
	table, err := node.ClusterNodes(ctx).Result()
	if err != nil {
		return count{}, err
	}
	info, err := node.Info(ctx, "replication").Result()
	if err != nil {
		return count{}, err
	}
	known, online := clusterReplicasUp(table), replicasOnline(info)
	return count{synced: min(online, known), known: known}, nil
}

// replicasOnline counts, in a master's INFO replication, the replicas
// whose state is online (past their initial synchronisation).
func replicasOnline(info string) int {
	n := 0
	for _, line := range strings.Split(info, "\n") {
		if strings.HasPrefix(line, "slave") && strings.Contains(line, "state=online") {
			n++
		}
	}
	return n
}

// clusterReplicasUp counts, in a node's CLUSTER NODES, the replicas of
// that node (myself) that are not flagged fail, fail? or noaddr.
func clusterReplicasUp(table string) int {
	var self string
	lines := strings.Split(table, "\n")
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) > 2 && strings.Contains(f[2], "myself") {
			self = f[0]
		}
	}
	n := 0
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) < 8 || f[3] != self || !strings.Contains(f[2], "slave") {
			continue
		}
		if strings.Contains(f[2], "fail") || strings.Contains(f[2], "noaddr") || strings.Contains(f[2], "handshake") {
			continue
		}
		n++
	}
	return n
}
