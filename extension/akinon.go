package extension

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/akinon-gateway/gateway/idempotency"
	"github.com/akinon-gateway/gateway/provider"
)

// The five calls share one shape: read the body and fingerprint it,
// answer QA's replay, decode and validate the body (a failure is a 400 and
// is not stored), let the service run it, write its reply with the
// idempotency headers.

func (s *Server) startSession(c echo.Context) error {
	var req startSessionRequest
	r, done, err := s.call(c, "start-session", &req)
	if done {
		return err
	}
	amount, merr := money(req.OrderAmount, "orderAmount", true)
	if err := joinFieldErrors(s.check(&req), merr, s.checkStart(merchantOf(c), &req)); err != nil {
		return err
	}
	if req.ClientIP != "" {
		s.logger(c).Info("deprecated clientIp received", zap.String("client_ip", req.ClientIP))
	}
	in := provider.StartInput{
		Request:   s.tagged(c, r),
		Type:      provider.PaymentType(req.Type),
		Amount:    amount,
		Currency:  req.Currency,
		Locale:    req.Locale,
		ReturnURL: req.ReturnURL,
		Processor: req.TargetProvider,
	}
	reply, err := s.svc.StartSession(c.Request().Context(), in)
	return s.reply(c, reply, err)
}

// checkStart applies the rules that depend on configuration, and puts
// the return URL in the form the hosted page will use.
func (s *Server) checkStart(m *Merchant, req *startSessionRequest) error {
	var fe provider.FieldErrors
	if req.ReturnURL != "" {
		u, err := m.ReturnURL(req.ReturnURL, s.devMode)
		if pe := (*provider.Error)(nil); errors.As(err, &pe) {
			fe = append(fe, pe)
		} else {
			req.ReturnURL = u
		}
	}
	if req.TargetProvider != "" && !s.svc.HasProcessor(m.ID, req.TargetProvider) {
		fe = append(fe, &provider.Error{Code: provider.CodeInvalidField, Field: "targetProvider", Message: "is not a registered provider"})
	}
	if len(fe) == 0 {
		return nil
	}
	return fe
}

func (s *Server) purchase(c echo.Context) error {
	var req purchaseRequest
	r, done, err := s.call(c, "purchase", &req)
	if done {
		return err
	}
	amount, merr := money(req.OrderAmount, "orderAmount", false)
	if err := joinFieldErrors(s.check(&req), merr); err != nil {
		return err
	}
	in := provider.OperationInput{Request: s.tagged(c, r), Amount: amount}
	reply, err := s.svc.Purchase(c.Request().Context(), in)
	return s.reply(c, reply, err)
}

func (s *Server) void(c echo.Context) error {
	var req voidRequest
	r, done, err := s.call(c, "void", &req)
	if done {
		return err
	}
	if err := s.check(&req); err != nil {
		return err
	}
	in := provider.OperationInput{Request: s.tagged(c, r)}
	reply, err := s.svc.Void(c.Request().Context(), in)
	return s.reply(c, reply, err)
}

func (s *Server) refund(c echo.Context) error {
	var req refundRequest
	r, done, err := s.call(c, "refund", &req)
	if done {
		return err
	}
	amount, merr := money(req.Amount, "amount", true)
	if err := joinFieldErrors(s.check(&req), merr); err != nil {
		return err
	}
	in := provider.OperationInput{Request: s.tagged(c, r), Amount: amount, Currency: req.Currency}
	reply, err := s.svc.Refund(c.Request().Context(), in)
	return s.reply(c, reply, err)
}

func (s *Server) history(c echo.Context) error {
	var req historyRequest
	r, done, err := s.call(c, "history", &req)
	if done {
		return err
	}
	if err := s.check(&req); err != nil {
		return err
	}
	filter := provider.HistoryFilter{Type: provider.Action(req.Type), TransactionID: req.TransactionID,
		Status: provider.Status(req.Status), SubStatus: provider.SubStatus(req.SubStatus)}
	reply, err := s.svc.History(c.Request().Context(), s.tagged(c, r),
		func(a provider.Answer) provider.Reply { return renderHistory(a, filter) })
	return s.reply(c, reply, err)
}

// call reads a call's body. QA's replay of a guid this replica saw
// finished is answered there, before the body is decoded: its body reads
// as the one first answered (the same fingerprint, from a strict object),
// which decoded then. Any other body is decoded into dst, strictly; the
// caller validates it, so all field errors come together. done is true
// when the call has its answer, or err.
func (s *Server) call(c echo.Context, endpoint string, dst identified) (r provider.Request, done bool, err error) {
	if err := requireJSON(c.Request().Header.Get(echo.HeaderContentType)); err != nil {
		return r, true, err
	}
	body, err := io.ReadAll(c.Request().Body) // the body limit has already read it whole
	if err != nil {
		return r, true, err
	}
	fp, named, _ := idempotency.FingerprintNamed(endpoint, body, "guid", "orderId")
	r = provider.Request{Merchant: &merchantOf(c).Merchant, Fingerprint: fp}
	looked := false
	if named != nil && named[0] != "" && named[1] != "" {
		r.GUID, r.OrderID = named[0], named[1]
		reply, ok, err := s.svc.Replayed(c.Request().Context(), r)
		if err == nil && ok {
			s.tagged(c, r)
			return r, true, s.reply(c, reply, nil)
		}
		// A store that failed is asked again once the body has decoded:
		// a body that does not decode is a 400 whatever the store does.
		looked = err == nil
	}
	if err := decodeJSON(body, dst); err != nil {
		return r, true, err
	}
	guid, order := dst.ids()
	if looked && guid == r.GUID && order == r.OrderID {
		return r, false, nil
	}
	r.GUID, r.OrderID = guid, order
	done, err = s.replayed(c, r)
	return r, done, err
}

// requireJSON refuses a body that does not say it is JSON. Parameters
// are allowed and ignored: RFC 8259 defines none for application/json,
// and the text must be UTF-8 whatever a charset claims.
func requireJSON(contentType string) error {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != echo.MIMEApplicationJSON {
		return provider.Errorf(provider.CodeUnsupportedMediaType, "", "Content-Type must be application/json")
	}
	return nil
}

// tagged names r's guid and order in the request's log line, once they
// are checked (or known from an earlier answer).
func (s *Server) tagged(c echo.Context, r provider.Request) provider.Request {
	c.Set(ctxGUID, r.GUID)
	c.Set(ctxOrder, r.OrderID)
	return r
}

// replayed answers QA's replay of a guid this replica saw finished
// before the body is checked (provider.Service.Replayed); done is false
// for any other request, which runs on.
func (s *Server) replayed(c echo.Context, r provider.Request) (done bool, err error) {
	reply, ok, err := s.svc.Replayed(c.Request().Context(), r)
	if err == nil && !ok {
		return false, nil
	}
	s.tagged(c, r)
	return true, s.reply(c, reply, err)
}

// reply writes a stored or fresh reply with its idempotency headers.
func (s *Server) reply(c echo.Context, r provider.Reply, err error) error {
	if err != nil {
		return err
	}
	h := c.Response().Header()
	if r.Replayed {
		h.Set(idempotency.HeaderReplayed, "true")
	}
	if !r.Expires.IsZero() {
		h.Set(idempotency.HeaderExpires, r.Expires.UTC().Format(http.TimeFormat))
	}
	h.Set("Content-Length", strconv.Itoa(len(r.Body)))
	return c.Blob(r.Status, echo.MIMEApplicationJSON, r.Body)
}
