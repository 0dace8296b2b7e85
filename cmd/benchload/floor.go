package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/akinon-gateway/gateway/provider/redisstore"
)

// The floor is the least a gateway of this kind can do, built from the
// same parts: Echo, Basic auth, go-redis, a handler that stores an
// idempotent reply (a new guid: a read that misses and a write; a replay:
// one read), and nothing else: no logging, no validation, no metrics
// middleware. /floor4 adds the two round trips a sandbox bank makes for a
// refund, so the refund has a floor with as many round trips as it has.

const floorTTL = 24 * time.Hour

// floorRequest is all the floor reads of a body: its guid.
type floorRequest struct {
	GUID string `json:"guid"`
}

// floorReply is the idempotent reply the floor stores and replays.
type floorReply struct {
	TransactionID string `json:"transactionId"`
	Status        string `json:"status"`
}

// runFloor serves the floor on addr until ctx ends; its Go runtime's
// metrics are on metricsAddr, the way the gateway's are on ADMIN_ADDR.
func runFloor(ctx context.Context, addr, metricsAddr, redisURL, user, pass string) error {
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return err
	}
	opts.PoolSize = redisstore.DefaultPoolSize // the gateway's, so the pool is no difference between them
	rdb := redis.NewClient(opts)
	defer rdb.Close()

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	auth := middleware.BasicAuth(func(u, p string, _ echo.Context) (bool, error) {
		return subtle.ConstantTimeCompare([]byte(u), []byte(user)) == 1 &&
			subtle.ConstantTimeCompare([]byte(p), []byte(pass)) == 1, nil
	})
	e.POST("/floor", floorHandler(rdb, 0), auth)
	e.POST("/floor4", floorHandler(rdb, 2), auth)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	metrics := &http.Server{Addr: metricsAddr, Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})}

	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mlis, err := net.Listen("tcp", metricsAddr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: e}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
		_ = metrics.Close()
	}()
	go func() { _ = metrics.Serve(mlis) }()
	if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// floorHandler answers with the stored reply of the guid, or stores a new
// one; bank is how many round trips a bank adds to a new guid.
func floorHandler(rdb *redis.Client, bank int) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in floorRequest
		if err := c.Bind(&in); err != nil || in.GUID == "" {
			return c.JSON(http.StatusBadRequest, map[string]string{"error": "guid is required"})
		}
		ctx := c.Request().Context()
		key := "floor:reply:" + in.GUID
		if b, err := rdb.Get(ctx, key).Bytes(); err == nil {
			return c.JSONBlob(http.StatusOK, b)
		} else if !errors.Is(err, redis.Nil) {
			return err
		}
		for i := range bank {
			if err := rdb.Set(ctx, "floor:bank:"+in.GUID+":"+string(rune('a'+i)), "1", floorTTL).Err(); err != nil {
				return err
			}
		}
		reply := floorReply{TransactionID: in.GUID, Status: "SUCCESS"}
		b, err := json.Marshal(reply)
		if err != nil {
			return err
		}
		if err := rdb.SetArgs(ctx, key, b, redis.SetArgs{Mode: "NX", TTL: floorTTL}).Err(); err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		return c.JSONBlob(http.StatusOK, b)
	}
}
