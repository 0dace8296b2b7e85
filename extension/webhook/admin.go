package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/akinon-gateway/gateway/provider"
)

// Operator is what the operator endpoints need: the service's operator
// reads and actions (provider.Service, so they pass its store's metrics).
type Operator interface {
	DeadLetters(ctx context.Context, limit int) ([]provider.OutboxEvent, error)
	Event(ctx context.Context, id string) (provider.OutboxEvent, []provider.Attempt, error)
	ReplayEvent(ctx context.Context, id string, now time.Time) (bool, error)
	ReplayDead(ctx context.Context, now time.Time) (int, error)
	OutboxStats(ctx context.Context, now time.Time) (provider.OutboxStats, error)
}

// eventView is an event as the operator endpoints show it.
type eventView struct {
	EventID  string             `json:"eventId"`
	Merchant string             `json:"merchant"`
	OrderID  string             `json:"orderId"`
	State    string             `json:"state"`
	Attempts int                `json:"attempts"`
	Created  string             `json:"created"`
	Next     string             `json:"nextAttempt,omitempty"`
	ParkedAt string             `json:"parkedAt,omitempty"`
	Body     json.RawMessage    `json:"body,omitempty"`
	History  []provider.Attempt `json:"attemptLog,omitempty"`
}

func view(ev provider.OutboxEvent) eventView {
	v := eventView{EventID: ev.ID, Merchant: ev.Merchant, OrderID: ev.OrderID, State: ev.State, Attempts: ev.Attempts,
		Created: provider.FormatTime(ev.Created)}
	if !ev.Next.IsZero() {
		v.Next = provider.FormatTime(ev.Next)
	}
	if !ev.ParkedAt.IsZero() {
		v.ParkedAt = provider.FormatTime(ev.ParkedAt)
	}
	return v
}

// Mount adds the operator endpoints under /admin/webhooks to the
// operator group (extension.AdminGroup); a nil group mounts nothing.
//
//	GET  /admin/webhooks/dead               dead letters (?limit=100)
//	POST /admin/webhooks/dead/replay        replay every dead letter
//	GET  /admin/webhooks/events/:id         one event with its attempts
//	POST /admin/webhooks/events/:id/replay  replay one parked event
//	GET  /admin/webhooks/stats              outbox depth, oldest due attempt, dead letters
func Mount(admin *echo.Group, op Operator) {
	if admin == nil {
		return
	}
	g := admin.Group("/webhooks")
	g.GET("/dead", func(c echo.Context) error {
		limit, _ := strconv.Atoi(c.QueryParam("limit"))
		if limit <= 0 || limit > 1000 {
			limit = 100
		}
		evs, err := op.DeadLetters(c.Request().Context(), limit)
		if err != nil {
			return storeErr(err)
		}
		out := make([]eventView, 0, len(evs))
		for _, ev := range evs {
			out = append(out, view(ev))
		}
		return c.JSON(http.StatusOK, map[string]any{"deadLetters": out})
	})
	g.POST("/dead/replay", func(c echo.Context) error {
		n, err := op.ReplayDead(c.Request().Context(), time.Now())
		if err != nil {
			return storeErr(err)
		}
		return c.JSON(http.StatusAccepted, map[string]int{"replayed": n})
	})
	g.GET("/events/:id", func(c echo.Context) error {
		ev, attempts, err := op.Event(c.Request().Context(), c.Param("id"))
		if err != nil {
			return storeErr(err)
		}
		v := view(ev)
		v.Body, v.History = json.RawMessage(ev.Body), attempts
		return c.JSON(http.StatusOK, v)
	})
	g.POST("/events/:id/replay", func(c echo.Context) error {
		ok, err := op.ReplayEvent(c.Request().Context(), c.Param("id"), time.Now())
		if err != nil {
			return storeErr(err)
		}
		if !ok {
			return provider.Errorf(provider.CodeNotParked, "", "only a dead or gone event can be replayed")
		}
		return c.JSON(http.StatusAccepted, map[string]string{"eventId": c.Param("id"), "state": "pending"})
	})
	g.GET("/stats", func(c echo.Context) error {
		now := time.Now()
		st, err := op.OutboxStats(c.Request().Context(), now)
		if err != nil {
			return storeErr(err)
		}
		age := 0.0
		if !st.OldestDue.IsZero() {
			age = now.Sub(st.OldestDue).Seconds()
		}
		return c.JSON(http.StatusOK, map[string]any{"outboxDepth": st.Depth, "oldestDueAgeSeconds": age, "deadLetters": st.Dead})
	})
}

func storeErr(err error) error {
	switch {
	case errors.Is(err, provider.ErrNotFound):
		return provider.Errorf(provider.CodeEventNotFound, "", "no such event")
	case errors.Is(err, provider.ErrUnavailable):
		return provider.Wrap(provider.CodeStoreUnavailable, "the store is unavailable", err)
	}
	return provider.Wrap(provider.CodeInternal, "internal error", err)
}
