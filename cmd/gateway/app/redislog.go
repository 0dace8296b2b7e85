package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// redisLogger sends go-redis's own messages ("sentinel: new master",
// pool dial failures) through zap, so the log stays one JSON stream.
type redisLogger struct{ log *zap.Logger }

func (l redisLogger) Printf(_ context.Context, format string, v ...any) {
	msg := strings.TrimSpace(fmt.Sprintf(format, v...))
	l.log.Warn(msg)
}

// logRedisThrough routes go-redis's logger, which is global to the
// process, to log.
func logRedisThrough(log *zap.Logger) { redis.SetLogger(redisLogger{log.Named("redis")}) }
