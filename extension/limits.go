package extension

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/akinon-gateway/gateway/provider"
)

// How much of an over-limit body is read and thrown away before the 413
// is sent. Many clients (Python's urllib, most scripts) send the whole
// body before they read the answer: a server that answers and closes with
// the body still coming makes them fail with a broken pipe or a reset,
// and they never see the 413. Reading the rest lets them finish; the
// bounds keep a client from holding a connection with an endless body.
const (
	drainBytes = 16 << 20
	drainTime  = 5 * time.Second
)

// bodyLimit reads a body of at most limit bytes before the handler runs,
// so the handler always has it whole, and answers a longer one with 413
// body_too_large once the client has sent it (within the drain bounds).
func bodyLimit(limit int64) echo.MiddlewareFunc {
	tooLarge := provider.Errorf(provider.CodeBodyTooLarge, "", "the request body is larger than %d KiB", limit>>10)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.ContentLength > limit {
				drain(c)
				return tooLarge
			}
			body, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
			if err != nil {
				return err
			}
			if int64(len(body)) > limit {
				drain(c)
				return tooLarge
			}
			req.Body = io.NopCloser(bytes.NewReader(body))
			return next(c)
		}
	}
}

// drain discards the rest of the request body, within its bounds. When
// the body does not end within them the connection is closed after the
// answer, as nothing else can be read from it.
func drain(c echo.Context) {
	req := c.Request()
	if req.ContentLength <= drainBytes {
		rc := http.NewResponseController(c.Response())
		_ = rc.SetReadDeadline(time.Now().Add(drainTime))
		_, err := io.CopyN(io.Discard, req.Body, drainBytes)
		if errors.Is(err, io.EOF) {
			return
		}
	}
	c.Response().Header().Set(echo.HeaderConnection, "close")
}
