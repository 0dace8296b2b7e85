package redisstore_test

import (
	"errors"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/redisstore"
)

// TestWhatAStoreErrorMeans: the errors a failing, full or failing-over
// Redis answers are the store being unavailable (503), a missing key is
// not found, and anything else is the gateway's own fault (500).
func TestWhatAStoreErrorMeans(t *testing.T) {
	tests := []struct {
		redis string
		want  error // nil: neither unavailable nor not found
	}{
		{"MOVED 5261 127.0.0.1:43297", provider.ErrUnavailable},
		{"ASK 5261 127.0.0.1:43297", provider.ErrUnavailable},
		{"CLUSTERDOWN The cluster is down", provider.ErrUnavailable},
		{"TRYAGAIN Multiple keys request during rehashing of slot", provider.ErrUnavailable},
		{"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.", provider.ErrUnavailable},
		{"READONLY You can't write against a read only replica.", provider.ErrUnavailable},
		{"NOREPLICAS Not enough good replicas to write.", provider.ErrUnavailable},
		{"UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)", provider.ErrUnavailable},
		{"LOADING Redis is loading the dataset in memory", provider.ErrUnavailable},
		{"OOM command not allowed when used memory > 'maxmemory'.", provider.ErrUnavailable},
		{"ERR wrong number of arguments for 'hset' command", nil},
		{"WRONGTYPE Operation against a key holding the wrong kind of value", nil},
	}
	for _, tt := range tests {
		err := redisstore.Translate("op", errors.New(tt.redis))
		for _, kind := range []error{provider.ErrUnavailable, provider.ErrNotFound} {
			if got := errors.Is(err, kind); got != (kind == tt.want) {
				t.Errorf("%q: is %v = %v", tt.redis, kind, got)
			}
		}
	}
	if err := redisstore.Translate("op", redis.Nil); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("a missing key: %v", err)
	}
}
