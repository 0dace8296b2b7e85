package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/extension"
	"github.com/akinon-gateway/gateway/provider/processors"
	"github.com/akinon-gateway/gateway/provider/processors/sandbox"
	"github.com/akinon-gateway/gateway/provider/redisstore"
	"github.com/akinon-gateway/gateway/provider/settings"
)

// describeBooks says where the sandbox bank keeps its books.
func describeBooks(ctx context.Context, cfg Config) (string, error) {
	switch {
	case cfg.SandboxRedisURL != "":
		return describeStore(ctx, string(cfg.SandboxRedisURL), cfg)
	case cfg.Store.URL == "":
		return "an embedded in-memory store of its own", nil
	}
	return "the store above", nil
}

// operatorLine says where the operator endpoints are.
func operatorLine(cfg Config) string {
	switch {
	case cfg.HTTP.AdminUsername == "":
		return "off (ADMIN_USERNAME/ADMIN_PASSWORD not set)"
	case cfg.HTTP.AdminAddr != "":
		return cfg.HTTP.AdminAddr + " (ADMIN_ADDR): /admin, /metrics, /readyz, behind ADMIN_USERNAME"
	}
	return "on the main listener: /admin and /metrics behind ADMIN_USERNAME"
}

// checkConfig is -check-config: with the configuration valid, it proves
// the stores answer and will not evict, then writes to out a screen of
// what it proved.
func checkConfig(ctx context.Context, cfg Config, merchants *extension.Merchants, sections map[string][]*processors.Section,
	out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	procs, err := checkSections(ctx, sections)
	if err != nil {
		return err
	}
	store, err := describeStore(ctx, string(cfg.Store.URL), cfg)
	if err != nil {
		return err
	}
	books, err := describeBooks(ctx, cfg)
	if err != nil {
		return err
	}

	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	line := func(k, format string, args ...any) { fmt.Fprintf(w, "%s\t%s\n", k, fmt.Sprintf(format, args...)) }
	fmt.Fprintln(w, "configuration: valid")
	line("store", "%s", store)
	aof := "no"
	if cfg.Store.WaitAOF {
		aof = "yes"
	}
	line("durability", "each answer waits for %d replica(s) (REDIS_MIN_REPLICAS), at most %v; waits for the AOF fsync: %s (REDIS_WAIT_AOF)",
		cfg.Store.MinReplicas, cfg.Store.ReplicaTimeout, aof)
	for _, m := range merchants.All() {
		hook := "webhooks off"
		if m.WebhookURL != "" {
			hook = "webhooks to " + settings.MaskURL(m.WebhookURL)
		}
		line("merchant "+m.ID, "%s; %s", procs[m.ID], hook)
	}
	if cfg.Store.URL != "" || cfg.SandboxRedisURL != "" || hasSandbox(merchants) {
		line("sandbox books", "%s", books)
	}
	line("listener", "%s (ADDR), redirectUrl on %s (PUBLIC_URL)", cfg.Addr, cfg.PublicURL)
	line("operator", "%s", operatorLine(cfg))
	tracing := "off"
	if cfg.Observe.OtelEndpoint != "" {
		tracing = "OTLP/HTTP to " + settings.MaskURL(cfg.Observe.OtelEndpoint)
	}
	line("tracing", "%s", tracing)
	parts := testParts(cfg, merchants)
	for _, p := range parts {
		line("NOT FOR PRODUCTION", "%s", p.warning)
	}
	if cfg.DevMode {
		line("DEV_MODE", "on: development credentials and http URLs are accepted; never in production")
	}
	return w.Flush()
}

// checkSections builds each merchant's processors and runs the checks
// they offer; it says, by merchant, which it proved and with what
// settings (secrets masked), the default first.
func checkSections(ctx context.Context, sections map[string][]*processors.Section) (map[string]string, error) {
	shown := make(map[string]string, len(sections))
	var errs []error
	for id, secs := range sections {
		parts := make([]string, len(secs))
		for i, sec := range secs {
			// The books a sandbox keeps are proven on the line of their own.
			if err := sec.Check(ctx, processors.Deps{}); err != nil {
				errs = append(errs, fmt.Errorf("merchant %q: processor %s: %w", id, sec.Name, err))
			}
			parts[i] = sec.String()
		}
		shown[id] = "processor " + parts[0]
		if len(parts) > 1 {
			shown[id] = "processors " + parts[0] + " by default, " + strings.Join(parts[1:], ", ")
		}
	}
	return shown, errors.Join(errs...)
}

func hasSandbox(ms *extension.Merchants) bool {
	for _, m := range ms.All() {
		if slices.Contains(m.Processors, sandbox.Name) {
			return true
		}
	}
	return false
}

// describeStore connects to a REDIS_URL and says what it found: the
// topology, each master's policy and memory limit, its replicas. A Redis
// that does not answer or may evict is an error.
func describeStore(ctx context.Context, raw string, cfg Config) (string, error) {
	if raw == "" {
		return "embedded in-memory (miniredis), ALLOW_EMBEDDED_STORE=1 or DEV_MODE: nothing survives a restart", nil
	}
	o, err := redisstore.Options(raw)
	if err != nil {
		return "", err
	}
	c := redis.NewUniversalClient(o)
	defer c.Close()
	if err := redisstore.CheckPolicy(ctx, c); err != nil {
		return "", err
	}
	if raw == string(cfg.Store.URL) {
		if err := redisstore.CheckReplicas(ctx, c, cfg.Store.MinReplicas); err != nil {
			return "", err
		}
	}
	kind := "one node"
	switch {
	case o.MasterName != "":
		kind = fmt.Sprintf("Sentinel, master %q", o.MasterName)
	case o.IsClusterMode || len(o.Addrs) > 1:
		kind = "Cluster"
	}
	var masters []string
	look := func(ctx context.Context, n *redis.Client) error {
		mem, err := n.Info(ctx, "memory", "replication").Result()
		if err != nil {
			return err
		}
		limit := infoValue(mem, "maxmemory_human")
		if infoValue(mem, "maxmemory") == "0" {
			limit = "none"
		}
		masters = append(masters, fmt.Sprintf("%s: maxmemory-policy %s, maxmemory %s, %s replica(s) connected",
			n.Options().Addr, infoValue(mem, "maxmemory_policy"), limit, infoValue(mem, "connected_slaves")))
		return nil
	}
	switch c := c.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, look)
	case *redis.Client:
		err = look(ctx, c)
	default:
		err = errors.New("cannot read this client's nodes")
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", settings.MaskURL(raw), err)
	}
	return fmt.Sprintf("Redis %s at %s; %s", kind, settings.MaskURL(raw), strings.Join(masters, "; ")), nil
}

func infoValue(info, name string) string {
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), name+":"); ok {
			return v
		}
	}
	return "?"
}
