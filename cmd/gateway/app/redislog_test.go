package app

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// TestRedisMessagesAreJSON: what go-redis says of itself (here, that it
// cannot dial) reaches the log as a JSON line like every other, not as a
// plain-text line inside the JSON stream.
func TestRedisMessagesAreJSON(t *testing.T) {
	var buf bytes.Buffer
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&buf), zap.DebugLevel))
	logRedisThrough(log)
	c := redis.NewClient(&redis.Options{Addr: redistest.FreeAddr(t), MaxRetries: -1, DialTimeout: 100 * time.Millisecond, DialerRetries: 2})
	defer c.Close()
	_ = c.Ping(context.Background()).Err()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatal("go-redis said nothing")
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["logger"] != "redis" || m["msg"] == "" {
			t.Fatalf("a go-redis line that is not the log's JSON: %q", l)
		}
	}
}
