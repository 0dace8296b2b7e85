package extension

import (
	"net/http"
	"net/http/pprof"

	"github.com/labstack/echo/v4"
)

// MountProfiles serves Go's runtime profiles under the operator's group:
// /admin/pprof/ (the index), /admin/pprof/profile?seconds=N (CPU),
// /admin/pprof/trace and the named profiles such as /admin/pprof/heap.
// They are behind the operator's credentials like every /admin route; a
// profile shows the program's code and timing, never a request's data.
func MountProfiles(g *echo.Group) {
	if g == nil {
		return
	}
	handlers := map[string]http.HandlerFunc{"profile": pprof.Profile, "trace": pprof.Trace,
		"symbol": pprof.Symbol, "cmdline": pprof.Cmdline}
	g.GET("/pprof/", func(c echo.Context) error {
		// The index links its profiles relative to the path it reads.
		r := c.Request().Clone(c.Request().Context())
		r.URL.Path = "/debug/pprof/"
		pprof.Index(c.Response(), r)
		return nil
	})
	g.GET("/pprof/:name", func(c echo.Context) error {
		h, ok := handlers[c.Param("name")]
		if !ok {
			h = pprof.Handler(c.Param("name")).ServeHTTP
		}
		h(c.Response(), c.Request())
		return nil
	})
}
