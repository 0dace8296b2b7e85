package observe

import "go.uber.org/zap/zapcore"

// Settings is the section of what the gateway tells its operators:
// traces and the log.
type Settings struct {
	OtelEndpoint string        `env:"OTEL_EXPORTER_OTLP_ENDPOINT" show:"url" doc:"where traces go; empty: tracing off"`
	LogLevel     zapcore.Level `env:"LOG_LEVEL" doc:"zap level"`
	LogFormat    string        `env:"LOG_FORMAT" oneof:"json console" doc:"json, or console for people"`
}

// DefaultSettings: no tracing, info in JSON.
func DefaultSettings() Settings {
	return Settings{LogLevel: zapcore.InfoLevel, LogFormat: "json"}
}
