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

// The five calls share one shape: read and validate the body (a failure
// is a 400 and is not stored), fingerprint it, let the service run it,
// write its reply with the idempotency headers.

func (s *Server) startSession(c echo.Context) error {
	var req startSessionRequest
	body, err := s.read(c, &req)
	if err != nil {
		return err
	}
	r := s.request(c, "start-session", body, req.GUID, req.OrderID)
	if done, err := s.replayed(c, r); done {
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
	body, err := s.read(c, &req)
	if err != nil {
		return err
	}
	r := s.request(c, "purchase", body, req.GUID, req.OrderID)
	if done, err := s.replayed(c, r); done {
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
	body, err := s.read(c, &req)
	if err != nil {
		return err
	}
	r := s.request(c, "void", body, req.GUID, req.OrderID)
	if done, err := s.replayed(c, r); done {
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
	body, err := s.read(c, &req)
	if err != nil {
		return err
	}
	r := s.request(c, "refund", body, req.GUID, req.OrderID)
	if done, err := s.replayed(c, r); done {
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
	body, err := s.read(c, &req)
	if err != nil {
		return err
	}
	r := s.request(c, "history", body, req.GUID, req.OrderID)
	if done, err := s.replayed(c, r); done {
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

// read takes a JSON body (the body limit has already read it whole) and
// decodes it into dst; the caller validates, so all field errors come
// together.
func (s *Server) read(c echo.Context, dst any) ([]byte, error) {
	if err := requireJSON(c.Request().Header.Get(echo.HeaderContentType)); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return nil, err
	}
	if err := decodeJSON(body, dst); err != nil {
		return nil, err
	}
	return body, nil
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

// request is a call's guid, order and fingerprint, not yet checked.
func (s *Server) request(c echo.Context, endpoint string, body []byte, guid, orderID string) provider.Request {
	fp, _ := idempotency.Fingerprint(endpoint, body) // body already decoded once: valid JSON
	return provider.Request{Merchant: &merchantOf(c).Merchant, GUID: guid, OrderID: orderID, Fingerprint: fp}
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
