package extension

import (
	"crypto/subtle"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/akinon-gateway/gateway/provider"
)

// AdminGroup is the operator endpoints' group under /admin, behind Basic
// auth with the operator's credentials; nil when there are none, and then
// no operator endpoint is mounted.
func AdminGroup(e *echo.Echo, user, pass string) *echo.Group {
	if user == "" || pass == "" {
		return nil
	}
	return e.Group("/admin", AdminAuth(user, pass))
}

// AdminAuth is Basic auth with the operator's credentials.
func AdminAuth(user, pass string) echo.MiddlewareFunc {
	return middleware.BasicAuthWithConfig(middleware.BasicAuthConfig{
		Realm: "gateway-operator",
		Validator: func(u, p string, _ echo.Context) (bool, error) {
			ok := subtle.ConstantTimeCompare([]byte(u), []byte(user)) & subtle.ConstantTimeCompare([]byte(p), []byte(pass))
			return ok == 1, nil
		},
	})
}

// doubtView is an in-doubt entry as operators see it.
type doubtView struct {
	Kind       provider.DoubtKind `json:"kind"`
	Action     provider.Action    `json:"action,omitempty"`
	Merchant   string             `json:"merchant"`
	OrderID    string             `json:"orderId"`
	GUID       string             `json:"guid,omitempty"`
	SessionID  string             `json:"sessionId,omitempty"`
	Since      string             `json:"since"`
	Deadline   string             `json:"deadline"`
	AgeSeconds float64            `json:"ageSeconds"`
	Overdue    bool               `json:"overdue"` // past its deadline: the reconciler's to settle
}

// MountDoubts adds GET /admin/doubts: what is not settled yet and for how
// long — operations whose request has not stored a reply, payments at the
// processor — oldest first.
func MountDoubts(g *echo.Group, svc *provider.Service) {
	if g == nil {
		return
	}
	g.GET("/doubts", func(c echo.Context) error {
		ds, err := svc.InDoubt(c.Request().Context())
		if err != nil {
			return err
		}
		now := time.Now()
		held := svc.Config().Lease + svc.Config().Margin
		out := make([]doubtView, 0, len(ds))
		for _, d := range ds {
			since := d.Deadline.Add(-held)
			v := doubtView{Kind: d.Kind, Action: d.Action, Merchant: d.Merchant, OrderID: d.OrderID,
				Since: provider.FormatTime(since), Deadline: provider.FormatTime(d.Deadline),
				AgeSeconds: now.Sub(since).Seconds(), Overdue: now.After(d.Deadline)}
			if d.Kind == provider.DoubtPayment {
				v.SessionID = d.ID
			} else {
				v.GUID = d.ID
			}
			out = append(out, v)
		}
		return c.JSON(http.StatusOK, map[string]any{"inDoubt": out})
	})
}
