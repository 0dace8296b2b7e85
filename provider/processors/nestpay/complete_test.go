package nestpay_test

import (
	"context"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/akinon-gateway/gateway/hashing"
	"github.com/akinon-gateway/gateway/provider"
	"github.com/akinon-gateway/gateway/provider/processors/nestpay"
)

// TestCompleteChecksBeforeTheBank shows each check of the bank's return on
// its own: every other field is right and freshly signed, and only a return
// that passes them all reaches the XML API.
func TestCompleteChecksBeforeTheBank(t *testing.T) {
	var calls atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		out, _ := xml.Marshal(nestpay.Response{Response: "Approved", ProcReturnCode: "00"})
		_, _ = w.Write(out)
	}))
	t.Cleanup(api.Close)
	const key = "store-key"
	p, err := nestpay.New(nestpay.Settings{ClientID: "700", StoreKey: key, APIUser: "u", APIPassword: "pw",
		GateURL: api.URL + "/gate", APIURL: api.URL})
	if err != nil {
		t.Fatal(err)
	}
	stored := provider.CompleteRequest{Reference: "ord-1", Type: provider.Auth, Amount: 12550, Currency: "TRY"}
	cases := []struct {
		name      string
		change    func(f map[string]string)
		unsigned  bool // the change is made after signing
		toTheBank bool
	}{
		{name: "mdStatus 1 authenticated", toTheBank: true},
		{name: "mdStatus 2 not enrolled", change: func(f map[string]string) { f["mdStatus"] = "2" }, toTheBank: true},
		{name: "mdStatus 3", change: func(f map[string]string) { f["mdStatus"] = "3" }, toTheBank: true},
		{name: "mdStatus 4 attempt", change: func(f map[string]string) { f["mdStatus"] = "4" }, toTheBank: true},
		{name: "mdStatus 0 failed", change: func(f map[string]string) { f["mdStatus"] = "0" }},
		{name: "mdStatus 5", change: func(f map[string]string) { f["mdStatus"] = "5" }},
		{name: "mdStatus 6", change: func(f map[string]string) { f["mdStatus"] = "6" }},
		{name: "mdStatus 7", change: func(f map[string]string) { f["mdStatus"] = "7" }},
		{name: "mdStatus 8", change: func(f map[string]string) { f["mdStatus"] = "8" }},
		{name: "mdStatus missing", change: func(f map[string]string) { delete(f, "mdStatus") }},
		{name: "mdStatus 9 unknown", change: func(f map[string]string) { f["mdStatus"] = "9" }},
		{name: "another store", change: func(f map[string]string) { f["clientid"] = "701" }},
		{name: "another order", change: func(f map[string]string) { f["oid"] = "ord-2" }},
		{name: "another amount", change: func(f map[string]string) { f["amount"] = "125.51" }},
		{name: "another currency", change: func(f map[string]string) { f["currency"] = "840" }},
		{name: "hash of other fields", change: func(f map[string]string) { f["amount"] = "1.00" }, unsigned: true},
		{name: "no hash", change: func(f map[string]string) { delete(f, "HASH") }, unsigned: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := map[string]string{"clientid": "700", "oid": "ord-1", "amount": "125.50", "currency": "949",
				"mdStatus": "1", "md": "md-token", "xid": "x", "eci": "05", "cavv": "c", "rnd": "r"}
			if c.change != nil && !c.unsigned {
				c.change(f)
			}
			f["HASH"] = hashing.NestPayV3(key, f)
			if c.change != nil && c.unsigned {
				c.change(f)
			}
			before := calls.Load()
			req := stored
			req.Fields = f
			res, err := p.Complete(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			reached := calls.Load() > before
			if reached != c.toTheBank || (res.Outcome == provider.Approved) != c.toTheBank {
				t.Fatalf("reached the bank %v, outcome %s (%s): want reached and approved = %v", reached, res.Outcome, res.Detail, c.toTheBank)
			}
		})
	}
}
