package nestpay_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/nestpay"
	"github.com/akinon-gateway/gateway/provider/processors/nestpay/nestpaybanktest"
	"github.com/akinon-gateway/gateway/provider/redisstore/redistest"
)

// TestFakeBankRefusesBadInput: a gate form that does not verify and an API
// call with the wrong password are refused and leave no trace in the books.
func TestFakeBankRefusesBadInput(t *testing.T) {
	bank, _, books, _ := startBank(t)
	ctx := context.Background()

	form := url.Values{"clientid": {bank.Store.ClientID}, "oid": {"forged-1"}, "amount": {"1.00"},
		"okUrl": {"http://127.0.0.1/ok"}, "failUrl": {"http://127.0.0.1/fail"}, "hash": {"not-a-hash"}}
	resp, err := http.PostForm(bank.GateURL, form)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("gate with a forged hash: HTTP %d, want 400", resp.StatusCode)
	}
	if a, err := books.Account(ctx, "forged-1"); err != nil || a.State != "" {
		t.Fatalf("a forged gate form left %+v, %v in the books", a, err)
	}

	wrong, err := nestpay.New(nestpay.Settings{ClientID: bank.Store.ClientID, StoreKey: bank.Store.StoreKey,
		APIUser: bank.Store.APIUser, APIPassword: "guess", GateURL: bank.GateURL, APIURL: bank.APIURL})
	if err != nil {
		t.Fatal(err)
	}
	res, err := wrong.Capture(ctx, provider.OperationRequest{Reference: "cap-x", ProcessorID: "forged-1", Amount: 100, Currency: "TRY"})
	if err != nil || res.Outcome != provider.Declined || !strings.Contains(res.Detail, "authentication") {
		t.Fatalf("capture with a wrong API password = %+v, %v; want declined for authentication", res, err)
	}
	// An error answer is no proof the bank never received a payment.
	if in, err := wrong.Inquire(ctx, provider.InquiryRequest{Operation: provider.OpAuthorise, Reference: "forged-2"}); err == nil {
		t.Fatalf("inquiry with a wrong API password = %+v, want an error, never \"not received\"", in)
	}
	if a, err := books.Account(ctx, "forged-2"); err != nil || a.State != "" || len(a.Entries) != 0 {
		t.Fatalf("a refused inquiry closed the payment: %+v, %v", a, err)
	}
}

// TestFakeBankBooksSurviveAKill: the bank is killed after it approved a
// capture whose answer was lost; a new bank process on the same books
// answers the inquiry with that approval.
func TestFakeBankBooksSurviveAKill(t *testing.T) {
	bank, p, books, _ := startBank(t)
	ctx := context.Background()
	ref := "pay-kill-" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	page := challengeAtBank(t, p, ref, 5000, "http://127.0.0.1:1/return")
	returned := hiddenInputs(t, page)
	done, err := p.Complete(ctx, provider.CompleteRequest{Reference: ref, Type: provider.Auth, Amount: 5000, Currency: "TRY", Fields: returned})
	if err != nil || done.Outcome != provider.Approved {
		t.Fatalf("Complete = %+v, %v", done, err)
	}
	bank.SetFaults(t, nestpaybanktest.Faults{DropAfterActing: true})
	if res, err := p.Capture(ctx, provider.OperationRequest{Reference: "cap-" + ref, ProcessorID: ref, Amount: 5000, Currency: "TRY"}); err == nil {
		t.Fatalf("a capture whose answer was dropped = %+v, want an error", res)
	}
	bank.Kill()

	again := nestpaybanktest.Start(t, redistest.Shared(t).URL(), bank.Store)
	p2, err := nestpay.New(nestpay.Settings{ClientID: bank.Store.ClientID, StoreKey: bank.Store.StoreKey, APIUser: bank.Store.APIUser,
		APIPassword: bank.Store.APIPassword, GateURL: again.GateURL, APIURL: again.APIURL})
	if err != nil {
		t.Fatal(err)
	}
	in, err := p2.Inquire(ctx, provider.InquiryRequest{Operation: provider.OpCapture, Reference: "cap-" + ref, ProcessorID: ref})
	if err != nil || !in.Received || in.Result.Outcome != provider.Approved || in.Amount != 5000 {
		t.Fatalf("Inquire after the restart = %+v, %v; want the approved capture of 50.00", in, err)
	}
	if a, err := books.Account(ctx, ref); err != nil || a.Captured != 5000 || a.Authorised != 5000 {
		t.Fatalf("books after the restart = %+v, %v", a, err)
	}
}

// TestFakeBankDuplicateReturn: with the switch on, the bank posts every
// return twice; completing both provisions once.
func TestFakeBankDuplicateReturn(t *testing.T) {
	bank, p, books, _ := startBank(t)
	ctx := context.Background()
	posts := make(chan url.Values, 4)
	listener := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		posts <- r.PostForm
	}))
	t.Cleanup(listener.Close)
	bank.SetFaults(t, nestpaybanktest.Faults{DuplicateReturn: true})
	ref := "pay-dup-" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	page := challengeAtBank(t, p, ref, 7000, listener.URL+"/return")
	first := hiddenInputs(t, page) // what the browser would post
	var second url.Values
	select {
	case second = <-posts: // the bank's own second delivery
	case <-time.After(10 * time.Second):
		t.Fatal("no second return from the bank")
	}
	for _, f := range []map[string]string{first, flat(second)} {
		done, err := p.Complete(ctx, provider.CompleteRequest{Reference: ref, Type: provider.Auth, Amount: 7000, Currency: "TRY", Fields: f})
		if err != nil || done.Outcome != provider.Approved {
			t.Fatalf("Complete = %+v, %v", done, err)
		}
	}
	a, err := books.Account(ctx, ref)
	if err != nil || a.Authorised != 7000 || len(a.Entries) != 1 {
		t.Fatalf("books after two returns = %+v, %v; want one authorisation of 70.00", a, err)
	}
}

// challengeAtBank authorises ref with the 3-D Secure test card and posts the
// redirect form to the bank as a browser would, returning the bank's page.
func challengeAtBank(t *testing.T, p *nestpay.Processor, ref string, amount provider.Money, returnURL string) *http.Response {
	t.Helper()
	res, err := p.Authorise(t.Context(), provider.AuthoriseRequest{Reference: ref, Type: provider.Auth, Amount: amount, Currency: "TRY",
		ReturnURL: returnURL, Card: provider.Card{Number: "4000000000003220", ExpMonth: 1, ExpYear: 2040, CVC: "123"}})
	if err != nil || res.Redirect == nil {
		t.Fatalf("Authorise = %+v, %v", res, err)
	}
	fields := url.Values{}
	for _, f := range res.Redirect.Fields {
		fields.Set(f.Name, f.Value)
	}
	page, err := http.PostForm(res.Redirect.URL, fields)
	if err != nil {
		t.Fatal(err)
	}
	return page
}

func flat(v url.Values) map[string]string {
	out := map[string]string{}
	for k := range v {
		out[k] = v.Get(k)
	}
	return out
}
