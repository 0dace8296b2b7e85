package openapicheck

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

// TestDocumentIsValid: openapi.json loads and validates as OpenAPI 3.1
// (its examples included), and every operation has an operationId.
func TestDocumentIsValid(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.Doc.OpenAPI != "3.1.0" || !c.Doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi %q, want 3.1.0", c.Doc.OpenAPI)
	}
	n := 0
	for path, item := range c.Doc.Paths.Map() {
		for method, op := range item.Operations() {
			n++
			if op.OperationID == "" {
				t.Errorf("%s %s has no operationId", method, path)
			}
		}
	}
	if n != 29 {
		t.Errorf("%d operations, want 29: the five calls, four of the hosted page, healthz, readyz, openapi.json, metrics, six operator endpoints, two of runtime profiles and eight console pages", n)
	}
}

const (
	okStart = `{"type":"SALE","redirectUrl":"http://gw.test/pay/0b6c3c8e-3c55-4c39-9b5e-1d0c8e3f7a10","redirectMethod":"GET",` +
		`"sessionId":"0b6c3c8e-3c55-4c39-9b5e-1d0c8e3f7a10","transactionId":"5852ee99-b4cd-5b89-97e8-c874a19d6ca7"}`
	startBody = `{"version":"1","guid":"g-1","orderId":"o-1","orderAmount":100.50,"locale":"tr","returnUrl":"https://shop.example/r",` +
		`"type":"SALE","currency":"TRY","customer":{"firstName":"Ayşe","lastName":"Yılmaz","email":"a@example.com"}}`
	okOperation = `{"transactionId":"5852ee99-b4cd-5b89-97e8-c874a19d6ca7","status":"RESOLVED","subStatus":"RESOLVED"}`
)

func stored() http.Header {
	return http.Header{"Content-Type": {"application/json"}, "X-Akinon-Request-Id": {"req-1"},
		"Idempotency-Expires": {"Mon, 23 Nov 2026 08:03:26 GMT"}}
}

func errorBody(code string) string {
	return `{"transactionId":"","status":"REJECTED","subStatus":"PROCESSING_ERROR","errors":[{"code":"` + code + `","field":"","message":"m"}]}`
}

// TestCheckerCatchesDrift: exchanges the gateway must never make are
// refused by the checker, so a gateway that drifts from the document, or
// a document that drifts from the gateway, fails the tests.
func TestCheckerCatchesDrift(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	withHeader := func(k, v string) http.Header { h := stored(); h.Set(k, v); return h }
	plain := http.Header{"Content-Type": {"application/json"}, "X-Akinon-Request-Id": {"req-1"}}
	tests := []struct {
		name         string
		method, path string
		reqBody      string
		auth         bool
		status       int
		header       http.Header
		body         string
		wantErr      string // "" for an exchange the document allows
	}{
		{"a start-session", "POST", "/start-session", startBody, true, 200, stored(), okStart, ""},
		{"a refund", "POST", "/refund", `{"guid":"g","orderId":"o","amount":0.5,"currency":"TRY"}`, true, 200, stored(), okOperation, ""},
		{"a replayed answer", "POST", "/void", `{"guid":"g","orderId":"o"}`, true, 200, withHeader("Idempotent-Replayed", "true"), okOperation, ""},
		{"a 400 to an amount with three decimals", "POST", "/refund", `{"guid":"g","orderId":"o","amount":0.505,"currency":"TRY"}`, true, 400, plain, errorBody("invalid_field"), ""},
		{"a 401 without credentials", "POST", "/void", `{"guid":"g","orderId":"o"}`, false, 401,
			http.Header{"Content-Type": {"application/json"}, "X-Akinon-Request-Id": {"r"}, "Www-Authenticate": {`basic realm="akinon"`}}, errorBody("unauthorized"), ""},
		{"a 409 with Retry-After", "POST", "/purchase", `{"guid":"g","orderId":"o"}`, true, 409,
			http.Header{"Content-Type": {"application/json"}, "X-Akinon-Request-Id": {"r"}, "Retry-After": {"1"}}, errorBody("request_in_progress"), ""},
		{"a health probe", "GET", "/healthz", "", false, 200, http.Header{"Content-Type": {"application/json"}}, `{"status":"ok"}`, ""},

		{"an unknown endpoint", "POST", "/capture", `{}`, true, 404, plain, errorBody("not_found"), "is not in openapi.json"},
		{"an undocumented status", "POST", "/void", `{"guid":"g","orderId":"o"}`, true, 418, plain, errorBody("internal_error"), "status is not supported"},
		{"an extra key", "POST", "/start-session", startBody, true, 200, stored(), strings.Replace(okStart, `{`, `{"extra":1,`, 1), "does not match"},
		{"a missing key", "POST", "/purchase", `{"guid":"g","orderId":"o"}`, true, 200, stored(), `{"transactionId":"5852ee99-b4cd-5b89-97e8-c874a19d6ca7","status":"RESOLVED"}`, "does not match"},
		{"a pair the contract does not have", "POST", "/purchase", `{"guid":"g","orderId":"o"}`, true, 200, stored(), strings.Replace(okOperation, `"subStatus":"RESOLVED"`, `"subStatus":"RISKY"`, 1), "does not match"},
		{"a 200 without Idempotency-Expires", "POST", "/purchase", `{"guid":"g","orderId":"o"}`, true, 200, plain, okOperation, "Idempotency-Expires"},
		{"a 200 without the request id", "POST", "/purchase", `{"guid":"g","orderId":"o"}`, true, 200,
			http.Header{"Content-Type": {"application/json"}, "Idempotency-Expires": {"Mon, 23 Nov 2026 08:03:26 GMT"}}, okOperation, "x-akinon-request-id"},
		{"a 409 without Retry-After", "POST", "/purchase", `{"guid":"g","orderId":"o"}`, true, 409, plain, errorBody("request_in_progress"), "Retry-After"},
		{"a code under another status", "POST", "/refund", `{"guid":"g","orderId":"o","amount":1,"currency":"TRY"}`, true, 422, plain, errorBody("order_not_found"), "does not match"},
		{"a 422 code of another call", "POST", "/start-session", startBody, true, 422, plain, errorBody("refunds_exist"), "does not match"},
		{"an error body with another key", "POST", "/void", `{"guid":"g","orderId":"o"}`, true, 404, stored(),
			strings.Replace(errorBody("order_not_found"), `{`, `{"error":"x",`, 1), "does not match"},
		{"a timestamp in UTC", "POST", "/history", `{"guid":"g","orderId":"o"}`, true, 200, stored(),
			`{"lastAction":"START","status":"PENDING","substatus":"PAYMENT_WAITING","balance":0.00,"currency":"TRY","paymentTransactionHistory":[` +
				`{"guid":"g","type":"START","timestamp":"2026-11-22T11:05:09.123Z","statusCode":"PENDING","subStatusCode":"PAYMENT_WAITING","statusDetail":"","subSteps":[]}]}`, "does not match"},
		{"JSON where a page is due", "GET", "/pay/x", "", false, 404, plain, errorBody("session_not_found"), "does not match"},

		// The document refuses these requests: only a refusal may answer them.
		{"a 200 to three decimals", "POST", "/refund", `{"guid":"g","orderId":"o","amount":0.505,"currency":"TRY"}`, true, 200, stored(), okOperation, "openapi.json refuses"},
		{"a 200 to ORDERID", "POST", "/void", `{"guid":"g","orderId":"o","ORDERID":"o"}`, true, 200, stored(), okOperation, "openapi.json refuses"},
		{"a 200 to customer.FirstName", "POST", "/start-session", strings.Replace(startBody, `}}`, `,"FirstName":"x"}}`, 1), true, 200, stored(), okStart, "openapi.json refuses"},
		{"a 200 to a guid with a newline", "POST", "/void", `{"guid":"g\n1","orderId":"o"}`, true, 200, stored(), okOperation, "openapi.json refuses"},
		{"a 200 to an unknown currency", "POST", "/refund", `{"guid":"g","orderId":"o","amount":1,"currency":"TL"}`, true, 200, stored(), okOperation, "openapi.json refuses"},
		{"a 200 to a bad clientIp", "POST", "/start-session", strings.Replace(startBody, `"type"`, `"clientIp":"x","type"`, 1), true, 200, stored(), okStart, "openapi.json refuses"},
		{"a 200 without credentials", "POST", "/void", `{"guid":"g","orderId":"o"}`, false, 200, stored(), okOperation, "openapi.json refuses"},
		{"a 422 without credentials", "POST", "/void", `{"guid":"g","orderId":"o"}`, false, 422, plain, errorBody("session_voided"), "openapi.json refuses"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, "http://gw.test"+tt.path, nil)
			if tt.reqBody != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if tt.auth {
				req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("u:p")))
			}
			err := c.Check(req, []byte(tt.reqBody), tt.status, tt.header, []byte(tt.body))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("allowed, want an error with %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %v, want one with %q", err, tt.wantErr)
			}
		})
	}
}
