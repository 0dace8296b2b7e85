package idempotency_test

import (
	"testing"

	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }
