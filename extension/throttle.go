package extension

import (
	"context"
	"encoding/base64"
	"math"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/akinon-gateway/gateway/provider"
)

// Limits are what one client may repeat before it is throttled; a zero
// Limit is no throttle.
type Limits struct {
	AuthIP       provider.Limit `env:"THROTTLE_AUTH_IP" doc:"failed Basic auth from one client"`
	AuthUser     provider.Limit `env:"THROTTLE_AUTH_USER" doc:"failed Basic auth for one username"`
	CardIP       provider.Limit `env:"THROTTLE_CARD_IP" dev:"0" doc:"card forms one client sends to payable sessions"`
	CardMerchant provider.Limit `env:"THROTTLE_CARD_MERCHANT" dev:"0" doc:"cards declined or refused on one merchant's sessions"`
	CardBIN      provider.Limit `env:"THROTTLE_CARD_BIN" dev:"0" doc:"cards declined or refused with one BIN"`
}

// Throttle counts what attackers repeat — wrong passwords, card numbers
// tried on the hosted page — in budgets every replica shares (the store's
// provider.Budgets). A Redis that cannot be asked lets the request
// through: the throttle protects the gateway, it must not take it down,
// and the store refuses the work anyway when Redis is gone.
type Throttle struct {
	budgets provider.Budgets
	limits  Limits
	// Refused is called with the throttle's name each time it refuses:
	// auth_ip, auth_user, card_ip, card_merchant, card_bin.
	Refused func(name string)
}

// NewThrottle spends from budgets.
func NewThrottle(budgets provider.Budgets, limits Limits) *Throttle {
	return &Throttle{budgets: budgets, limits: limits}
}

// throttled is a refusal for wait.
func throttled(wait time.Duration) *provider.Error {
	e := provider.Errorf(provider.CodeThrottled, "", "too many requests; retry after %d s", retrySeconds(wait))
	e.RetryAfter = wait
	return e
}

func retrySeconds(wait time.Duration) int {
	return max(1, int(math.Ceil(wait.Seconds())))
}

// spend takes one from a key's budget and reports how long it must wait
// when there was none left.
func (t *Throttle) spend(ctx context.Context, name, key string, l provider.Limit) time.Duration {
	if t == nil || l.IsZero() || key == "" {
		return 0
	}
	wait, err := t.budgets.Spend(ctx, name+":"+key, l)
	return t.refusal(name, wait, err)
}

// refusal is what a budget's answer means: no wait when it had one left
// or could not be asked, else a refusal of a second at least, counted.
func (t *Throttle) refusal(name string, wait time.Duration, err error) time.Duration {
	if err != nil || wait == 0 {
		return 0
	}
	if t.Refused != nil {
		t.Refused(name)
	}
	return max(wait, time.Second)
}

// authenticate is Basic auth with a throttle on failures. Only failures
// are counted, each from the client IP's and the username's budgets;
// once either is spent a failure is answered 429 (with Retry-After)
// instead of 401, and logged sampled. Correct credentials always pass,
// from any address: a merchant whose username someone is guessing at is
// never locked out (with passwords of 16 characters or more, guessing is
// no way in; the throttle keeps a flood of failures cheap and quiet).
func (s *Server) authenticate(realm string, check func(user, pass string, c echo.Context) bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			user, pass, ok := c.Request().BasicAuth()
			// Only the one spelling RFC 7617 gives credentials is taken:
			// Go, like Echo, accepts base64 with stray bits.
			h := c.Request().Header.Get(echo.HeaderAuthorization)
			ok = ok && len(h) > 6 && h[5] == ' ' && h[6:] == base64Std(user+":"+pass)
			if ok && check(user, pass, c) {
				return next(c)
			}
			ctx := c.Request().Context()
			l := s.throttle.limitsOrZero()
			wait := max(s.throttle.spend(ctx, "auth_ip", s.clientKey(c), l.AuthIP), s.throttle.spend(ctx, "auth_user", user, l.AuthUser))
			if wait > 0 {
				return throttled(wait)
			}
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Basic realm="`+realm+`"`)
			return provider.Errorf(provider.CodeUnauthorized, "", "valid Basic credentials are required")
		}
	}
}

func (t *Throttle) limitsOrZero() Limits {
	if t == nil {
		return Limits{}
	}
	return t.limits
}

// cardAttempt is the gate before a card form reaches the bank; the
// caller has already found the session payable and the anti-forgery token
// valid. The client IP's own budget is spent first, and a form it refuses
// touches nothing shared. The merchant's and the BIN's budgets are only
// looked at here: they are spent by cardRefused, so what empties them is
// what card testing looks like (cards the bank declines or the form
// refuses, each costing the tester a try of a payable session), never a
// shopper's good card or a flood of forms at a session that cannot pay.
func (t *Throttle) cardAttempt(ctx context.Context, ip, merchant, bin string) error {
	if t == nil {
		return nil
	}
	if wait := t.spend(ctx, "card_ip", ip, t.limits.CardIP); wait > 0 {
		return throttled(wait)
	}
	wait := max(t.left(ctx, "card_merchant", merchant, t.limits.CardMerchant), t.left(ctx, "card_bin", bin, t.limits.CardBIN))
	if wait > 0 {
		return throttled(wait)
	}
	return nil
}

// cardRefused charges a declined or refused card to the merchant's and
// the BIN's budgets.
func (t *Throttle) cardRefused(ctx context.Context, merchant, bin string) {
	if t == nil {
		return
	}
	for _, b := range []struct {
		name, key string
		l         provider.Limit
	}{{"card_merchant", merchant, t.limits.CardMerchant}, {"card_bin", bin, t.limits.CardBIN}} {
		if !b.l.IsZero() && b.key != "" {
			_, _ = t.budgets.Spend(ctx, b.name+":"+b.key, b.l)
		}
	}
}

// left reports how long until a key's budget has one left, spending
// nothing; 0 when it has one now (or cannot be asked).
func (t *Throttle) left(ctx context.Context, name, key string, l provider.Limit) time.Duration {
	if l.IsZero() || key == "" {
		return 0
	}
	wait, err := t.budgets.Left(ctx, name+":"+key, l)
	return t.refusal(name, wait, err)
}

// cardBIN is the first six digits of the number as typed, "" when there
// are fewer.
func cardBIN(number string) string {
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, number)
	if len(digits) < 6 {
		return ""
	}
	return digits[:6]
}

func base64Std(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
