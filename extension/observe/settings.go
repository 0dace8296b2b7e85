package observe

import (
	"fmt"

	"go.uber.org/zap/zapcore"
)

// Settings is the section of what the gateway tells its operators:
// traces and the log.
type Settings struct {
	OtelEndpoint string `env:"OTEL_EXPORTER_OTLP_ENDPOINT" show:"url" doc:"where traces go; empty: tracing off"`
	LogLevel     Level  `env:"LOG_LEVEL" doc:"zap level"`
	LogFormat    string `env:"LOG_FORMAT" oneof:"json console" doc:"json, or console for people"`
}

// DefaultSettings: no tracing, info in JSON.
func DefaultSettings() Settings {
	return Settings{LogLevel: Level(zapcore.InfoLevel), LogFormat: "json"}
}

// Level is LOG_LEVEL, a zap level.
type Level zapcore.Level

// UnmarshalText reads a level's name.
func (l *Level) UnmarshalText(text []byte) error {
	var z zapcore.Level
	if err := z.UnmarshalText(text); err != nil {
		return fmt.Errorf("%q is not a zap level (debug, info, warn, error)", text)
	}
	*l = Level(z)
	return nil
}

func (l Level) String() string { return zapcore.Level(l).String() }
