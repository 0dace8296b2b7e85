package extension_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/extension/openapicheck"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// quiet drops go-redis's own log lines (a refused dial while a test has
// stopped Redis on purpose); failures reach the tests as errors anyway.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// TestMain runs the tests, then says how many exchanges were held
// against openapi.json (shown with go test -v).
func TestMain(m *testing.M) {
	redis.SetLogger(quiet{})
	code := m.Run()
	redistest.Stop()
	if c, err := openapicheck.Shared(); err == nil {
		fmt.Println("openapi.json:", c.Stats())
	}
	os.Exit(code)
}
