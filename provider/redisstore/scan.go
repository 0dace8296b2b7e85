package redisstore

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/provider"
)

// EachOrder calls fn with every order the store holds, for the ledger
// audit and operators. It scans the keyspace (every master of a
// Cluster), so it is for audits, never for a request's path. fn is
// called one order at a time, though a Cluster's masters are scanned at
// once.
func (s *Store) EachOrder(ctx context.Context, fn func(merchant, order string) error) error {
	var mu sync.Mutex
	scan := func(ctx context.Context, c *redis.Client) error {
		it := c.Scan(ctx, 0, s.prefix+":{*}:o:*", 500).Iterator()
		for it.Next(ctx) {
			_, rest, ok := strings.Cut(it.Val(), "}:o:")
			if !ok {
				continue
			}
			merchant, order, ok := strings.Cut(rest, ":")
			if !ok {
				continue
			}
			mu.Lock()
			err := fn(merchant, order)
			mu.Unlock()
			if err != nil {
				return err
			}
		}
		return translate("scan orders", it.Err())
	}
	switch c := s.rdb.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, scan)
	case *redis.Client:
		return scan(ctx, c)
	}
	return fmt.Errorf("redisstore: cannot scan a %T", s.rdb)
}

// Steps reads an order's history.
func (s *Store) Steps(ctx context.Context, merchant, order string) ([]provider.Step, error) {
	raw, err := s.rdb.LRange(ctx, s.order(merchant, order).history, 0, -1).Result()
	if err != nil {
		return nil, translate("steps", err)
	}
	list := make([]any, len(raw))
	for i, r := range raw {
		list[i] = r
	}
	return decodeSteps(list)
}
