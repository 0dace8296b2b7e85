package extension_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// quiet drops go-redis's own log lines (a refused dial while a test has
// stopped Redis on purpose); failures reach the tests as errors anyway.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	redis.SetLogger(quiet{})
	redistest.Main(m)
}
