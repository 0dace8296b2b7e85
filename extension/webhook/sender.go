package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/akinon-gateway/gateway/hashing"
	"github.com/akinon-gateway/gateway/provider"
)

// Merchants finds where a merchant's webhooks go: the receiver's URL and
// the key they are signed with; ok is false for a merchant without one.
// The HTTP adapter's merchant list offers it.
type Merchants interface {
	Webhook(merchantID string) (url, key string, ok bool)
}

// Config is the sender's settings section; Replica is not a variable of
// its own (the gateway names the replica).
type Config struct {
	Schedule []time.Duration `env:"WEBHOOK_RETRY_SCHEDULE" doc:"delays before each attempt"`
	Timeout  time.Duration   `env:"WEBHOOK_TIMEOUT" min:"1ns" doc:"one attempt"`
	Poll     time.Duration   `env:"WEBHOOK_POLL" min:"1ns" doc:"how often an idle sender looks for due events"`
	// AllowPrivate lets webhooks go to loopback, private and link-local
	// addresses (WEBHOOK_ALLOW_PRIVATE; DEV_MODE always does).
	AllowPrivate bool          `env:"WEBHOOK_ALLOW_PRIVATE" doc:"webhook targets on internal addresses"`
	Workers      int           // attempts in flight per replica
	Retention    time.Duration // how long a delivered event is kept for operators
	Replica      string        // this replica's name, in logs and attempts
}

// DefaultConfig is the sender's defaults.
func DefaultConfig() Config {
	return Config{
		Schedule:  []time.Duration{0, 10 * time.Second, time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour},
		Timeout:   10 * time.Second,
		Poll:      500 * time.Millisecond,
		Workers:   16,
		Retention: 7 * 24 * time.Hour,
	}
}

// lease is how long a claim lasts: longer than an attempt can take, so a
// live replica never loses its claim mid-attempt.
func (c Config) lease() time.Duration { return 2*c.Timeout + 5*time.Second }

// Sender delivers due webhooks.
type Sender struct {
	outbox    provider.Outbox
	merchants Merchants
	client    *http.Client
	cfg       Config
	log       *zap.Logger
	now       func() time.Time
}

// NewSender returns a sender; client may be nil for a default one. The
// sender never follows a redirect, whatever the client says: a client
// that follows a 302 re-sends as a GET without the body and may record a
// 200 from the new address as delivered, losing the event. A 3xx is a
// failed attempt, retried, with its Location recorded for operators.
func NewSender(outbox provider.Outbox, ms Merchants, client *http.Client, cfg Config, log *zap.Logger) *Sender {
	if client == nil {
		client = &http.Client{}
	}
	if cfg.Workers < 1 {
		cfg.Workers = 1
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if t := ownTransport(&c); t != nil {
		pooled(t, cfg.Workers)
		if !cfg.AllowPrivate {
			guarded(t)
		}
	}
	client = &c
	if log == nil {
		log = zap.NewNop()
	}
	return &Sender{outbox: outbox, merchants: ms, client: client, cfg: cfg, log: log, now: time.Now}
}

// pooled lets the transport keep a connection to a receiver for each
// attempt in flight. Go's default transport keeps two idle connections a
// host, so with more workers most deliveries to a merchant's one
// receiver dialled anew, and over HTTPS shook hands anew.
func pooled(t *http.Transport, workers int) {
	t.MaxIdleConnsPerHost = max(t.MaxIdleConnsPerHost, workers)
	if t.MaxIdleConns != 0 { // 0: no limit
		t.MaxIdleConns = max(t.MaxIdleConns, workers)
	}
}

// Run delivers until ctx ends. Then it stops claiming, lets the attempts
// in flight finish (each bounded by the timeout), gives back what it had
// claimed but not started, and returns.
func (s *Sender) Run(ctx context.Context) {
	var wg sync.WaitGroup
	slots := make(chan struct{}, s.cfg.Workers)
	freed := make(chan struct{}, s.cfg.Workers)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-timer.C:
		case <-freed:
		}
		free := s.cfg.Workers - len(slots)
		if free > 0 {
			evs, err := s.outbox.ClaimEvents(ctx, s.now(), s.cfg.lease(), free)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("webhook: cannot claim due events", zap.Error(err))
			}
			for i, ev := range evs {
				if ctx.Err() != nil {
					s.release(evs[i:])
					break
				}
				slots <- struct{}{}
				wg.Add(1)
				go func() {
					defer wg.Done()
					s.deliver(ev)
					<-slots
					select {
					case freed <- struct{}{}:
					default:
					}
				}()
			}
			if len(evs) == free {
				// A full batch: there may be more due right now.
				resetTimer(timer, 0)
				continue
			}
		}
		resetTimer(timer, s.cfg.Poll)
	}
}

func (s *Sender) release(evs []provider.OutboxEvent) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.outbox.Release(ctx, evs, s.now()); err != nil {
		s.log.Warn("webhook: cannot release claimed events; they return after their lease", zap.Error(err))
	}
}

// deliver makes one attempt and records it. It does not use the Run
// context: an attempt begun is finished and recorded even during
// shutdown.
func (s *Sender) deliver(ev provider.OutboxEvent) {
	n := ev.Tries + 1
	start := s.now()
	status, location, err := s.post(ev, start)
	a := provider.Attempt{N: ev.Attempts + 1, At: provider.FormatTime(start), Status: status,
		LatencyMS: s.now().Sub(start).Milliseconds(), Location: location, Replica: s.cfg.Replica}
	if err != nil {
		a.Error = err.Error()
	}
	var next time.Time
	switch {
	case err == nil && status >= 200 && status < 300:
		a.Outcome = provider.OutcomeDelivered
	case status == http.StatusGone:
		a.Outcome = provider.OutcomeGone
	case n >= len(s.cfg.Schedule):
		a.Outcome = provider.OutcomeDead
	default:
		a.Outcome = provider.OutcomeRetry
		next = s.now().Add(jitter(s.cfg.Schedule[n]))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	held, rerr := s.outbox.RecordAttempt(ctx, ev, a, next, s.now(), s.cfg.Retention)
	fields := []zap.Field{zap.String("event_id", ev.ID), zap.String("order_id", ev.OrderID), zap.String("merchant", ev.Merchant),
		zap.Int("attempt", a.N), zap.String("outcome", a.Outcome), zap.Int("status", status), zap.Int64("latency_ms", a.LatencyMS)}
	if !next.IsZero() {
		fields = append(fields, zap.String("next_at", provider.FormatTime(next)))
	}
	if a.Error != "" {
		fields = append(fields, zap.String("error", a.Error))
	}
	switch {
	case rerr != nil:
		s.log.Error("webhook: attempt made but not recorded; it is repeated after the lease", append(fields, zap.Error(rerr))...)
	case !held:
		s.log.Warn("webhook: claim lost before the attempt was recorded", fields...)
	case a.Outcome == provider.OutcomeDelivered:
		s.log.Info("webhook delivered", fields...)
	default:
		s.log.Warn("webhook attempt failed", fields...)
	}
}

// post sends the event's stored body with fresh Standard Webhooks
// headers: the signature covers this attempt's timestamp, so a receiver
// can refuse replays of an old attempt.
func (s *Sender) post(ev provider.OutboxEvent, at time.Time) (status int, location string, err error) {
	target, key, ok := s.merchants.Webhook(ev.Merchant)
	if !ok {
		return 0, "", errors.New("the merchant has no webhook URL")
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(ev.Body))
	if err != nil {
		return 0, "", fmt.Errorf("request: %w", err)
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "akinon-gateway-webhook/1 ("+s.cfg.Replica+")")
	h.Set(hashing.HeaderWebhookID, ev.ID)
	h.Set(hashing.HeaderWebhookTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(hashing.HeaderWebhookSignature, hashing.StandardSignature([]byte(key), ev.ID, at, ev.Body))
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, "", errors.New(transportError(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		location = resp.Header.Get("Location")
		if len(location) > 512 {
			location = location[:512]
		}
		return resp.StatusCode, location, fmt.Errorf("receiver answered %d (a redirect is not followed)", resp.StatusCode)
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return resp.StatusCode, "", fmt.Errorf("receiver answered %d", resp.StatusCode)
	}
	return resp.StatusCode, "", nil
}

// transportError names a failure without the URL, which may carry
// credentials of the receiver.
func transportError(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && ue.Unwrap() != nil {
		return "transport: " + ue.Unwrap().Error()
	}
	return "transport error"
}

// jitter spreads retries of many events over up to a fifth more than the
// scheduled delay, never less, so receivers recovering from an outage are
// not hit by every retry at once.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d + time.Duration(rand.Int64N(int64(d)/5+1))
}

func resetTimer(t *time.Timer, d time.Duration) {
	if !t.Stop() {
		select {
		case <-t.C:
		default:
		}
	}
	t.Reset(d)
}
