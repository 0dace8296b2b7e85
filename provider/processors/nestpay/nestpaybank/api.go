package nestpaybank

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/nestpay"
	"github.com/redis/go-redis/v9"
)

// api is the XML API. A repeated operation (same order, operation and
// reference) answers what the first one answered and acts once.
func (b *Bank) api(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var req nestpay.Request
	if err != nil || xml.Unmarshal(raw, &req) != nil {
		http.Error(w, "not a CC5Request", http.StatusBadRequest)
		return
	}
	f := b.faults()
	if f.Slow > 0 { // a slow bank still acts on a request whose caller gave up
		time.Sleep(f.Slow)
	}
	var answer nestpay.Response
	if req.Name != b.cfg.APIUser || req.Password != b.cfg.APIPassword || req.ClientID != b.cfg.ClientID {
		answer = fail("99", "authentication failed")
	} else {
		// The books are written whatever happens to the caller.
		answer, err = b.act(context.WithoutCancel(r.Context()), req)
		if err != nil {
			http.Error(w, "books unavailable", http.StatusServiceUnavailable)
			return
		}
	}
	answer.OrderID = req.OrderID
	if f.DropAfterActing {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
	}
	out, _ := xml.Marshal(answer)
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	_, _ = w.Write(out)
}

// act answers one operation of the XML API from the books: an inquiry,
// a closing of a reference, a repeat of what was answered, or a step of
// the order's life.
func (b *Bank) act(ctx context.Context, req nestpay.Request) (nestpay.Response, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if req.Extra.OrderStatus == "QUERY" {
		return b.query(ctx, req)
	}
	op := provider.Operation(req.Extra.Operation)
	if strings.HasPrefix(req.Extra.Operation, "close:") {
		return b.closeRef(ctx, req, provider.Operation(strings.TrimPrefix(req.Extra.Operation, "close:")))
	}
	key := b.opKey(req.OrderID, op, req.Extra.Reference)
	if prev, done, err := b.answered(ctx, req, op, key); done || err != nil {
		return prev, err
	}
	o, err := b.load(ctx, req.OrderID)
	if errors.Is(err, errNoOrder) {
		return fail("99", "No record found for "+req.OrderID), nil
	}
	if err != nil {
		return nestpay.Response{}, err
	}
	step := stepOf(req.Type, op)
	if step == nil {
		return fail("99", "unsupported request "+req.Type+"/"+string(op)), nil
	}
	answer, amount := step(&o, req)
	if answer.Response == "Error" { // nothing changed, nothing kept: a corrected request may follow
		return answer, nil
	}
	answer.TransID = token()[:16]
	kept, _ := xml.Marshal(answer)
	outcome := string(provider.Approved)
	if answer.Response != "Approved" {
		outcome = string(provider.Declined)
	}
	line := &ledger{Op: op, Ref: req.Extra.Reference, Outcome: outcome, Amount: amount}
	return answer, b.save(ctx, req.OrderID, o, line, key, string(kept))
}

// answered is the answer the books already hold for the operation kept
// at key, or the refusal of a reference an inquiry closed; done says
// whether there was one.
func (b *Bank) answered(ctx context.Context, req nestpay.Request, op provider.Operation, key string) (a nestpay.Response, done bool, err error) {
	if prev, err := b.rdb.Get(ctx, key).Result(); err == nil {
		err = xml.Unmarshal([]byte(prev), &a)
		return a, true, err
	} else if !errors.Is(err, redis.Nil) {
		return a, true, err
	}
	closed, err := b.rdb.Exists(ctx, b.closedKey(req.OrderID, op, req.Extra.Reference)).Result()
	if err != nil {
		return a, true, err
	}
	if closed == 1 {
		return fail("99", "reference closed by an inquiry"), true, nil
	}
	return a, false, nil
}

// stepOf is the step of an order's life a request type makes for the
// operation, nil for a pair the bank does not serve.
func stepOf(typ string, op provider.Operation) func(*order, nestpay.Request) (nestpay.Response, int64) {
	switch {
	case (typ == "PreAuth" || typ == "Auth") && op == provider.OpAuthorise:
		return provision
	case typ == "PostAuth" && op == provider.OpCapture:
		return postAuth
	case typ == "Void" && op == provider.OpVoid:
		return void
	case typ == "Credit" && op == provider.OpRefund:
		return credit
	}
	return nil
}

func (b *Bank) closedKey(oid string, op provider.Operation, ref string) string {
	return b.opKey(oid, op, ref) + ":closed"
}

func provision(o *order, req nestpay.Request) (nestpay.Response, int64) {
	total, err := minor(req.Total)
	switch {
	case o.State != "3D":
		return fail("99", "order is "+o.State), 0
	case req.Number != o.MD:
		return fail("99", "md does not match the order"), 0
	case err != nil || total != o.Amount || req.Currency != o.Currency:
		return fail("99", "amount or currency differs from the 3D gate's"), 0
	case o.MDStatus < "1" || o.MDStatus > "4":
		o.State = "declined"
		return nestpay.Response{Response: "Declined", ProcReturnCode: "MD", ErrMsg: "3-D Secure not authenticated"}, 0
	case o.Answer != "00":
		o.State = "declined"
		return nestpay.Response{Response: "Declined", ProcReturnCode: o.Answer, ErrMsg: "declined by the issuer"}, 0
	}
	o.State = "authorised"
	return approved(), o.Amount
}

func postAuth(o *order, req nestpay.Request) (nestpay.Response, int64) {
	total, err := minor(req.Total)
	switch {
	case o.State != "authorised":
		return fail("99", "order is "+o.State), 0
	case o.Captured > 0:
		return fail("99", "already captured"), 0
	case err != nil || total <= 0 || total > o.Amount || req.Currency != o.Currency:
		return fail("99", "capture amount exceeds the authorisation"), 0
	}
	o.Captured = total
	return approved(), total
}

func void(o *order, _ nestpay.Request) (nestpay.Response, int64) {
	switch {
	case o.State != "authorised":
		return fail("99", "order is "+o.State), 0
	case o.Refunded > 0:
		return fail("99", "order has refunds"), 0
	}
	held := o.Amount
	if o.Captured > 0 {
		held = o.Captured
	}
	o.State, o.Voided = "voided", held
	return approved(), held
}

func credit(o *order, req nestpay.Request) (nestpay.Response, int64) {
	total, err := minor(req.Total)
	switch {
	case o.State != "authorised" || o.Captured == 0:
		return fail("99", "nothing captured to refund"), 0
	case err != nil || total <= 0 || req.Currency != o.Currency:
		return fail("99", "bad refund amount"), 0
	case total > o.Captured-o.Refunded:
		return fail("99", "refund exceeds the captured balance"), 0
	}
	o.Refunded += total
	return approved(), total
}

// closeRef closes a reference an inquiry found not received: a payment
// still at the gate is closed, and an operation's reference can never act.
func (b *Bank) closeRef(ctx context.Context, req nestpay.Request, op provider.Operation) (nestpay.Response, error) {
	if op == provider.OpAuthorise {
		o, err := b.load(ctx, req.OrderID)
		switch {
		case errors.Is(err, errNoOrder):
			o = order{}
		case err != nil:
			return nestpay.Response{}, err
		case o.State != "3D" && o.State != "closed":
			return fail("99", "order is "+o.State), nil
		}
		o.State = "closed"
		return approved(), b.save(ctx, req.OrderID, o, &ledger{Op: op, Ref: req.Extra.Reference, Outcome: "CLOSED"}, "", "")
	}
	if n, err := b.rdb.Exists(ctx, b.opKey(req.OrderID, op, req.Extra.Reference)).Result(); err != nil || n == 1 {
		if err != nil {
			return nestpay.Response{}, err
		}
		return fail("99", "reference acted"), nil
	}
	return approved(), b.rdb.Set(ctx, b.closedKey(req.OrderID, op, req.Extra.Reference), "1", 0).Err()
}

// query is the order-status query: the order's state, or one operation's.
func (b *Bank) query(ctx context.Context, req nestpay.Request) (nestpay.Response, error) {
	op := provider.Operation(req.Extra.Operation)
	o, err := b.load(ctx, req.OrderID)
	if errors.Is(err, errNoOrder) {
		return fail("99", "No record found for "+req.OrderID), nil
	}
	if err != nil {
		return nestpay.Response{}, err
	}
	if op == "" || op == provider.OpAuthorise {
		stat := map[string]string{"3D": "3D", "authorised": "A", "voided": "A", "declined": "D", "closed": "C"}[o.State]
		return statusAnswer(stat, o.Amount, ""), nil
	}
	prev, err := b.rdb.Get(ctx, b.opKey(req.OrderID, op, req.Extra.Reference)).Result()
	if errors.Is(err, redis.Nil) {
		if n, _ := b.rdb.Exists(ctx, b.closedKey(req.OrderID, op, req.Extra.Reference)).Result(); n == 1 {
			return statusAnswer("C", 0, ""), nil
		}
		return fail("99", "No record found for "+req.Extra.Reference), nil
	}
	if err != nil {
		return nestpay.Response{}, err
	}
	var a nestpay.Response
	if err := xml.Unmarshal([]byte(prev), &a); err != nil {
		return nestpay.Response{}, err
	}
	stat := "D"
	if a.Response == "Approved" {
		stat = "A"
	}
	var amount int64
	if ledger, err := b.entryAmount(ctx, req.OrderID, op, req.Extra.Reference); err == nil {
		amount = ledger
	}
	return statusAnswer(stat, amount, a.ProcReturnCode), nil
}

func (b *Bank) entryAmount(ctx context.Context, oid string, op provider.Operation, ref string) (int64, error) {
	acct, err := b.Account(ctx, oid)
	if err != nil {
		return 0, err
	}
	for _, e := range acct.Entries {
		if e.Op == op && e.Reference == ref {
			return int64(e.Amount), nil
		}
	}
	return 0, nil
}

func statusAnswer(stat string, amount int64, code string) nestpay.Response {
	return nestpay.Response{Response: "Approved", ProcReturnCode: "00",
		Extra: nestpay.ResponseExtra{TransStat: stat, Amount: itoa(amount), OpCode: code}}
}

func approved() nestpay.Response {
	return nestpay.Response{Response: "Approved", ProcReturnCode: "00", AuthCode: token()[:6], HostRefNum: token()[:12]}
}

func fail(code, msg string) nestpay.Response {
	return nestpay.Response{Response: "Error", ProcReturnCode: code, ErrMsg: msg}
}
