package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Args adds redis-server arguments.
func Args(args ...string) Option {
	return func(s *Server) { s.args = append(s.args, args...) }
}

// ReplicaOf makes the server a replica of master.
func ReplicaOf(master *Server) Option {
	host, port, _ := strings.Cut(master.Addr, ":")
	return Args("--replicaof", host, port)
}

// Safe is what the README asks of a Redis under the gateway: every write
// in the AOF before it is answered, never evict, and a master that stops
// taking writes when its replica falls behind.
func Safe() Option {
	return Args("--appendonly", "yes", "--appendfsync", "always", "--maxmemory-policy", "noeviction",
		"--min-replicas-to-write", "1", "--min-replicas-max-lag", "10")
}

// DefaultSentinelDownAfter is docs/failover.md's recommended
// down-after-milliseconds: twice the second a sentinel may take to open
// its link to a newly promoted master, so it does not call it down.
const DefaultSentinelDownAfter = 2000

// SentinelDownAfter and SentinelParallelSyncs are the sentinels'
// down-after-milliseconds and parallel-syncs for the groups started after
// they are set; a failover test sets them to measure the outage each gives.
var (
	SentinelDownAfter     = DefaultSentinelDownAfter
	SentinelParallelSyncs = 1
)

// SyncDelay is how long a master waits for more replicas before it
// starts a full resynchronisation (repl-diskless-sync-delay, 5 s by
// default): after a failover a replica that took writes the new master
// never had must resynchronise in full, and waits that long first.
func SyncDelay(seconds int) Option {
	return Args("--repl-diskless-sync-delay", strconv.Itoa(seconds))
}

// startIn runs a server in its own directory under root.
func startIn(tb testing.TB, root, name string, opts ...Option) *Server {
	tb.Helper()
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	s, err := start(dir, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Kill)
	return s
}

// Sentinel is a Sentinel group: a master, its replicas and three
// sentinels, each a process on a free port with its own directory.
type Sentinel struct {
	Name      string    // the master's name in the sentinels
	Nodes     []*Server // the data nodes; which is master changes with failovers
	sentinels []*sentinelProc
	dead      map[*Server]bool // killed and never restarted
}

type sentinelProc struct {
	Addr string
	cmd  *exec.Cmd
}

// StartSentinel starts a Sentinel group with one replica.
func StartSentinel(tb testing.TB, opts ...Option) *Sentinel {
	tb.Helper()
	return StartSentinelReplicas(tb, 1, opts...)
}

// StartSentinelReplicas starts a Sentinel group whose master has the
// given number of replicas and waits until the sentinels know them all.
// Stopped at cleanup.
func StartSentinelReplicas(tb testing.TB, replicas int, opts ...Option) *Sentinel {
	tb.Helper()
	if _, err := exec.LookPath("redis-sentinel"); err != nil {
		tb.Fatal("redistest: redis-sentinel not found on PATH (apt-get install -y redis-sentinel)")
	}
	root := tb.TempDir()
	master := startIn(tb, root, "node-0", opts...)
	g := &Sentinel{Name: "gw", Nodes: []*Server{master}, dead: map[*Server]bool{}}
	for i := 1; i <= replicas; i++ {
		g.Nodes = append(g.Nodes, startIn(tb, root, "node-"+strconv.Itoa(i), append([]Option{ReplicaOf(master)}, opts...)...))
	}
	Eventually(tb, 20*time.Second, "the replicas to sync", func() bool {
		for _, r := range g.Nodes[1:] {
			if role(r) != "slave" || !linkUp(r) {
				return false
			}
		}
		return true
	})
	host, port, _ := strings.Cut(master.Addr, ":")
	for i := range 3 {
		p, err := freePort()
		if err != nil {
			tb.Fatal(err)
		}
		dir := filepath.Join(root, "sentinel-"+strconv.Itoa(i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		conf := filepath.Join(dir, "sentinel.conf")
		body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nlogfile %s\n"+
			"sentinel monitor %s %s %s 2\nsentinel down-after-milliseconds %s %d\n"+
			"sentinel failover-timeout %s 10000\nsentinel parallel-syncs %s %d\n",
			p, dir, filepath.Join(dir, "sentinel.log"), g.Name, host, port, g.Name, SentinelDownAfter,
			g.Name, g.Name, SentinelParallelSyncs)
		if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
			tb.Fatal(err)
		}
		cmd := exec.Command("redis-sentinel", conf)
		if err := cmd.Start(); err != nil {
			tb.Fatal(err)
		}
		sp := &sentinelProc{Addr: "127.0.0.1:" + strconv.Itoa(p), cmd: cmd}
		tb.Cleanup(func() {
			_ = cmd.Process.Kill()
			_, _ = cmd.Process.Wait()
			if tb.Failed() {
				// What each sentinel decided, for the failure at hand.
				log, _ := os.ReadFile(filepath.Join(dir, "sentinel.log"))
				tb.Logf("sentinel %s's log:\n%s", sp.Addr, log)
			}
		})
		g.sentinels = append(g.sentinels, sp)
	}
	Eventually(tb, 30*time.Second, "every sentinel to know the master, its replicas and the other sentinels", func() bool {
		for _, sp := range g.sentinels {
			c := redis.NewSentinelClient(&redis.Options{Addr: sp.Addr})
			m, err := c.Master(context.Background(), g.Name).Result()
			c.Close()
			if err != nil || m["num-slaves"] != strconv.Itoa(replicas) || m["num-other-sentinels"] != "2" {
				return false
			}
		}
		return true
	})
	return g
}

// URL is the gateway's REDIS_URL for the group (README's Sentinel form).
func (g *Sentinel) URL() string {
	u := "redis://" + g.sentinels[0].Addr + "?master_name=" + g.Name
	for _, sp := range g.sentinels[1:] {
		u += "&addr=" + sp.Addr
	}
	return u
}

// Master is the data node the sentinels call master now.
func (g *Sentinel) Master(tb testing.TB) *Server {
	tb.Helper()
	c := redis.NewSentinelClient(&redis.Options{Addr: g.sentinels[0].Addr})
	defer c.Close()
	addr, err := c.GetMasterAddrByName(context.Background(), g.Name).Result()
	if err != nil {
		tb.Fatal(err)
	}
	for _, n := range g.Nodes {
		if n.Addr == addr[0]+":"+addr[1] {
			return n
		}
	}
	tb.Fatalf("the sentinels' master %v is none of the nodes", addr)
	return nil
}

// Failover is a planned failover (SENTINEL FAILOVER): a replica is
// promoted and the old master follows it. It returns when a replica
// became master (as the nodes report it), once the new master takes
// writes and has every replica back.
func (g *Sentinel) Failover(tb testing.TB) time.Time {
	tb.Helper()
	return g.replaceMaster(tb, func(*Server) {
		c := redis.NewSentinelClient(&redis.Options{Addr: g.sentinels[0].Addr})
		defer c.Close()
		if err := c.Failover(context.Background(), g.Name).Err(); err != nil {
			tb.Fatal(err)
		}
	}, nil)
}

// KillMaster SIGKILLs the master. The sentinels promote a replica after
// down-after-milliseconds; the killed node is started again (as an
// orchestrator would) and rejoins as a replica of the new master. It
// returns when a replica became master.
func (g *Sentinel) KillMaster(tb testing.TB) time.Time {
	tb.Helper()
	return g.replaceMaster(tb, (*Server).Kill, func(old *Server) { old.Restart(tb) })
}

// KillMasterForGood SIGKILLs the master and leaves it dead, as a host
// that does not come back: the sentinels promote a replica and the
// others follow it. It returns when a replica became master.
func (g *Sentinel) KillMasterForGood(tb testing.TB) time.Time {
	tb.Helper()
	return g.replaceMaster(tb, func(old *Server) { old.Kill(); g.dead[old] = true }, nil)
}

// replaceMaster ends the master's reign with end, waits until a replica
// is promoted, runs after (nil for nothing) on the old master, and
// waits until the new master takes writes with every replica back and
// every sentinel names it. It returns when the replica was promoted.
func (g *Sentinel) replaceMaster(tb testing.TB, end, after func(old *Server)) time.Time {
	tb.Helper()
	old := g.Master(tb)
	end(old)
	promoted := g.waitPromoted(tb, old)
	if after != nil {
		after(old)
	}
	g.waitNewMaster(tb, old)
	return promoted
}

// waitPromoted waits until a node other than old says it is master.
func (g *Sentinel) waitPromoted(tb testing.TB, old *Server) time.Time {
	tb.Helper()
	var at time.Time
	Eventually(tb, 30*time.Second, "a replica to be promoted", func() bool {
		for _, n := range g.Nodes {
			if n != old && !g.dead[n] && role(n) == "master" {
				at = time.Now()
				return true
			}
		}
		return false
	})
	return at
}

func (g *Sentinel) waitNewMaster(tb testing.TB, old *Server) {
	tb.Helper()
	defer func() {
		if tb.Failed() {
			for _, n := range g.Nodes {
				tb.Logf("%s: role %s link %v replicas %d", n.Addr, role(n), linkUp(n), connectedReplicas(n))
			}
		}
	}()
	Eventually(tb, 60*time.Second, "a new master with its replicas in sync", func() bool {
		var master *Server
		alive := 0
		for _, n := range g.Nodes {
			if g.dead[n] {
				continue
			}
			alive++
			if n != old && role(n) == "master" {
				master = n
			}
		}
		if master == nil || connectedReplicas(master) != alive-1 {
			return false
		}
		for _, n := range g.Nodes {
			if n != master && !g.dead[n] && (role(n) != "slave" || !linkUp(n)) {
				return false
			}
		}
		return g.agree(master)
	})
}

// agree reports whether every sentinel names master and none is running
// a failover. The nodes' roles alone do not end a failover: sentinels
// that just switched may call the promoted master down and replace it
// (docs/failover.md), and until that ends their master has no replica.
func (g *Sentinel) agree(master *Server) bool {
	for _, sp := range g.sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: sp.Addr})
		m, err := c.Master(context.Background(), g.Name).Result()
		c.Close()
		if err != nil || net.JoinHostPort(m["ip"], m["port"]) != master.Addr || strings.Contains(m["flags"], "failover_in_progress") {
			return false
		}
	}
	return true
}

// Cluster is a Redis Cluster of three masters, each with its replicas.
type Cluster struct {
	Nodes    []*Server
	replicas int
	dead     map[*Server]bool // killed and never restarted
}

// StartCluster starts a cluster of three masters with a replica each.
func StartCluster(tb testing.TB, opts ...Option) *Cluster {
	tb.Helper()
	return StartClusterReplicas(tb, 1, opts...)
}

// StartClusterReplicas starts three masters with the given number of
// replicas each, joins them with redis-cli --cluster create and waits
// until the cluster is ok on every node.
func StartClusterReplicas(tb testing.TB, replicas int, opts ...Option) *Cluster {
	tb.Helper()
	root := tb.TempDir()
	c := &Cluster{replicas: replicas, dead: map[*Server]bool{}}
	var addrs []string
	for i := range 3 * (1 + replicas) {
		n := startIn(tb, root, "node-"+strconv.Itoa(i), append([]Option{Args("--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000")}, opts...)...)
		c.Nodes = append(c.Nodes, n)
		addrs = append(addrs, n.Addr)
	}
	out, err := exec.Command("redis-cli", append(append([]string{"--cluster", "create"}, addrs...),
		"--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")...).CombinedOutput()
	if err != nil {
		tb.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.waitOK(tb)
	return c
}

// waitOK waits until every live node says the cluster is ok, with three
// masters and every live replica in sync.
func (c *Cluster) waitOK(tb testing.TB) {
	tb.Helper()
	want := 3*c.replicas - len(c.dead)
	Eventually(tb, 60*time.Second, "the cluster to be ok with three masters and their replicas in sync", func() bool {
		masters, synced := 0, 0
		for _, n := range c.Nodes {
			if c.dead[n] {
				continue
			}
			if !clusterOK(n) {
				return false
			}
			switch role(n) {
			case "master":
				masters++
			case "slave":
				if linkUp(n) {
					synced++
				}
			}
		}
		return masters == 3 && synced == want
	})
}

// URL is the gateway's REDIS_URL for the cluster (README's Cluster form).
func (c *Cluster) URL() string {
	u := "redis://" + c.Nodes[0].Addr + "?cluster=1"
	for _, n := range c.Nodes[1:] {
		u += "&addr=" + n.Addr
	}
	return u
}

// Masters are the nodes that are masters now.
func (c *Cluster) Masters() []*Server {
	var out []*Server
	for _, n := range c.Nodes {
		if !c.dead[n] && role(n) == "master" {
			out = append(out, n)
		}
	}
	return out
}

// replicasOf are the replicas of a master: the nodes whose own line in
// CLUSTER ServerS says they replicate the master's id.
func (c *Cluster) replicasOf(tb testing.TB, master *Server) []*Server {
	tb.Helper()
	id := nodeID(tb, master)
	var out []*Server
	for _, n := range c.Nodes {
		if n == master || c.dead[n] {
			continue
		}
		cl := redis.NewClient(&redis.Options{Addr: n.Addr})
		nodes, err := cl.ClusterNodes(context.Background()).Result()
		cl.Close()
		if err != nil {
			continue
		}
		for _, line := range strings.Split(nodes, "\n") {
			f := strings.Fields(line)
			if len(f) > 3 && strings.Contains(f[2], "myself") && strings.Contains(f[2], "slave") && f[3] == id {
				out = append(out, n)
			}
		}
	}
	if len(out) == 0 {
		tb.Fatalf("no replica of %s", master.Addr)
	}
	return out
}

// waitPromoted waits until one of the replicas says it is master.
func waitPromoted(tb testing.TB, replicas []*Server) time.Time {
	tb.Helper()
	var at time.Time
	Eventually(tb, 30*time.Second, "a replica to take over", func() bool {
		for _, r := range replicas {
			if role(r) == "master" {
				at = time.Now()
				return true
			}
		}
		return false
	})
	return at
}

// Failover is a planned failover of a master: CLUSTER FAILOVER on a
// replica, which takes its place. It returns when the replica became
// master, once the cluster is ok again.
func (c *Cluster) Failover(tb testing.TB, master *Server) time.Time {
	tb.Helper()
	replica := c.replicasOf(tb, master)[0]
	cl := redis.NewClient(&redis.Options{Addr: replica.Addr})
	defer cl.Close()
	// A manual failover the master does not confirm within Redis's 5 s
	// is abandoned without a word (a loaded machine); it is asked again,
	// as an operator would.
	var promoted time.Time
	Eventually(tb, 30*time.Second, "the replica to take over", func() bool {
		if role(replica) == "master" {
			promoted = time.Now()
			return true
		}
		if err := cl.Do(context.Background(), "CLUSTER", "FAILOVER").Err(); err != nil {
			tb.Fatal(err)
		}
		deadline := time.Now().Add(6 * time.Second)
		for time.Now().Before(deadline) {
			if role(replica) == "master" {
				promoted = time.Now()
				return true
			}
			time.Sleep(10 * time.Millisecond)
		}
		return false
	})
	c.waitOK(tb)
	return promoted
}

// KillMaster SIGKILLs a master; a replica is promoted after the node
// timeout; the killed node is started again and rejoins as a replica.
// It returns when the replica became master.
func (c *Cluster) KillMaster(tb testing.TB, master *Server) time.Time {
	tb.Helper()
	return c.kill(tb, master, true)
}

// KillMasterForGood SIGKILLs a master and leaves it dead, as a host that
// does not come back. It returns when a replica became master, once the
// cluster is ok again.
func (c *Cluster) KillMasterForGood(tb testing.TB, master *Server) time.Time {
	tb.Helper()
	return c.kill(tb, master, false)
}

// kill SIGKILLs a master, waits until a replica is promoted, starts the
// master again if it comes back, and returns the promotion's time once
// the cluster is ok.
func (c *Cluster) kill(tb testing.TB, master *Server, comesBack bool) time.Time {
	tb.Helper()
	replicas := c.replicasOf(tb, master)
	master.Kill()
	if !comesBack {
		c.dead[master] = true
	}
	promoted := waitPromoted(tb, replicas)
	if comesBack {
		master.Restart(tb)
	}
	c.waitOK(tb)
	return promoted
}

// Slots are the hash slots a master serves now, as CLUSTER SHARDS says.
func (c *Cluster) Slots(tb testing.TB, master *Server) map[int]bool {
	tb.Helper()
	cl := redis.NewClient(&redis.Options{Addr: master.Addr})
	defer cl.Close()
	shards, err := cl.ClusterShards(context.Background()).Result()
	if err != nil {
		tb.Fatal(err)
	}
	_, port, _ := strings.Cut(master.Addr, ":")
	out := map[int]bool{}
	for _, sh := range shards {
		for _, n := range sh.Nodes {
			if n.Role != "master" || strconv.FormatInt(n.Port, 10) != port {
				continue
			}
			for _, r := range sh.Slots {
				for s := r.Start; s <= r.End; s++ {
					out[int(s)] = true
				}
			}
		}
	}
	if len(out) == 0 {
		tb.Fatalf("CLUSTER SHARDS names no slot of %s", master.Addr)
	}
	return out
}

// KeySlot is the hash slot of a key (CLUSTER KEYSLOT on a live node).
func (c *Cluster) KeySlot(tb testing.TB, key string) int {
	tb.Helper()
	for _, n := range c.Nodes {
		if c.dead[n] {
			continue
		}
		cl := redis.NewClient(&redis.Options{Addr: n.Addr})
		slot, err := cl.ClusterKeySlot(context.Background(), key).Result()
		cl.Close()
		if err == nil {
			return int(slot)
		}
	}
	tb.Fatal("no live node to ask for a key's slot")
	return 0
}

func nodeID(tb testing.TB, n *Server) string {
	tb.Helper()
	cl := redis.NewClient(&redis.Options{Addr: n.Addr})
	defer cl.Close()
	id, err := cl.Do(context.Background(), "CLUSTER", "MYID").Text()
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

func info(n *Server, section string) string {
	cl := redis.NewClient(&redis.Options{Addr: n.Addr, MaxRetries: -1, DialTimeout: time.Second})
	defer cl.Close()
	s, _ := cl.Info(context.Background(), section).Result()
	return s
}

func field(s, name string) string {
	for _, line := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}

func role(n *Server) string { return field(info(n, "replication"), "role") }
func linkUp(n *Server) bool { return field(info(n, "replication"), "master_link_status") == "up" }
func connectedReplicas(n *Server) int {
	v, _ := strconv.Atoi(field(info(n, "replication"), "connected_slaves"))
	return v
}

func clusterOK(n *Server) bool {
	cl := redis.NewClient(&redis.Options{Addr: n.Addr, MaxRetries: -1, DialTimeout: time.Second})
	defer cl.Close()
	s, err := cl.ClusterInfo(context.Background()).Result()
	return err == nil && field(s, "cluster_state") == "ok"
}

// Watch records what one sentinel announces (every event channel) until
// the returned function is called, which returns each event with the
// time it came since Watch: a failover's timeline.
func (g *Sentinel) Watch(tb testing.TB) func() []string {
	tb.Helper()
	c := redis.NewSentinelClient(&redis.Options{Addr: g.sentinels[0].Addr})
	ps := c.PSubscribe(context.Background(), "*")
	if _, err := ps.Receive(context.Background()); err != nil {
		tb.Fatal(err)
	}
	began := time.Now()
	var mu sync.Mutex
	var events []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m := range ps.Channel() {
			mu.Lock()
			events = append(events, fmt.Sprintf("+%s %s %s", time.Since(began).Round(time.Millisecond), m.Channel, m.Payload))
			mu.Unlock()
		}
	}()
	return func() []string {
		ps.Close()
		c.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return events
	}
}
