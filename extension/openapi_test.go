package extension_test

import (
	"bytes"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-playground/validator/v10"
	"github.com/labstack/echo/v4"

	"github.com/akinon-gateway/gateway/extension"
	"github.com/akinon-gateway/gateway/provider"
)

// TestOpenAPIServed: GET /openapi.json answers the embedded document as
// is, as JSON, without credentials.
func TestOpenAPIServed(t *testing.T) {
	g := mustGateway(t)
	r := newBrowser(t).get(t, g.URL+"/openapi.json")
	if r.Status != http.StatusOK {
		t.Fatalf("GET /openapi.json: %s", r)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if !bytes.Equal(r.Body, extension.OpenAPI()) {
		t.Errorf("the served document differs from extension/openapi.json")
	}
}

// TestOpenAPIRoutes: the document's operations are exactly the routes the
// gateway serves, the operator endpoints mounted.
func TestOpenAPIRoutes(t *testing.T) {
	g := mustGateway(t, withAdmin()) // the operator endpoints and /metrics on the main listener

	var served []string
	for _, r := range g.server.Echo().Routes() {
		if r.Method == echo.RouteNotFound { // Echo's own, of each group
			continue
		}
		served = append(served, r.Method+" "+params(r.Path))
	}
	var documented []string
	for path, item := range spec(t).Doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+params(path))
		}
	}
	sort.Strings(served)
	sort.Strings(documented)
	served = slices.Compact(served)
	if !slices.Equal(served, documented) {
		t.Errorf("routes and openapi.json differ\nserved:     %q\ndocumented: %q", served, documented)
	}
}

// params writes Echo's :name and the document's {name} path parameters
// alike, whatever their names, and a path with and without its trailing
// slash alike: the document's router matches both to one path (/admin
// and /admin/).
func params(path string) string {
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") || strings.HasPrefix(p, "{") {
			parts[i] = "{}"
		}
	}
	return strings.Join(parts, "/")
}

// errorCodes reads the codes an error response of the document allows.
func errorCodes(tb testing.TB, resp *openapi3.ResponseRef) []string {
	tb.Helper()
	s := resp.Value.Content.Get("application/json").Schema.Value
	if len(s.AllOf) != 2 {
		tb.Fatalf("an error response without its codes: %+v", s)
	}
	var out []string
	for _, c := range s.AllOf[1].Value.Properties["errors"].Value.Items.Value.Properties["code"].Value.Enum {
		out = append(out, c.(string))
	}
	return out
}

// TestOpenAPIErrorCodes: every error code the document lists under a
// status is one the gateway answers with that status, and the 422 codes
// of each call are exactly the ones its state machine can give.
func TestOpenAPIErrorCodes(t *testing.T) {
	doc := spec(t).Doc
	guardCodes := map[provider.Guard][]provider.Code{
		provider.GuardWithinAuthorised: {provider.CodeAmountExceedsAuth},
		provider.GuardWithinBalance:    {provider.CodeCurrencyMismatch, provider.CodeAmountExceedsBalance},
		provider.GuardNoRefunds:        {provider.CodeRefundsExist}, // and 409 operation_in_progress
	}
	calls := map[string]provider.Action{"/start-session": provider.ActionStart, "/purchase": provider.ActionPurchase,
		"/void": provider.ActionVoid, "/refund": provider.ActionRefund, "/history": provider.ActionHistory}
	for path, action := range calls {
		op := doc.Paths.Find(path).Post
		for status, resp := range op.Responses.Map() {
			if status == "200" || status == "429" {
				continue
			}
			for _, code := range errorCodes(t, resp) {
				if got := extension.HTTPStatus(provider.Code(code)); strconv.Itoa(got) != status {
					t.Errorf("%s: openapi.json lists %s under %s; the gateway answers it with %d", path, code, status, got)
				}
			}
		}
		want := []string{string(provider.CodeIdempotencyReused)}
		for _, p := range provider.Phases {
			v := provider.Rule(action, p)
			if v.Code != "" && extension.HTTPStatus(v.Code) == http.StatusUnprocessableEntity {
				want = append(want, string(v.Code))
			}
			for _, c := range guardCodes[v.Guard] {
				want = append(want, string(c))
			}
		}
		got := errorCodes(t, op.Responses.Status(http.StatusUnprocessableEntity))
		sort.Strings(want)
		sort.Strings(got)
		if want = slices.Compact(want); !slices.Equal(got, want) {
			t.Errorf("%s: openapi.json's 422 codes %q, the state machine's %q", path, got, want)
		}
	}
}

// TestOpenAPICurrencies: the document's currencies are exactly the ISO
// 4217 codes the gateway's validator takes.
func TestOpenAPICurrencies(t *testing.T) {
	v := validator.New()
	var want []string
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			for c := 'A'; c <= 'Z'; c++ {
				if code := string([]rune{a, b, c}); v.Var(code, "iso4217") == nil {
					want = append(want, code)
				}
			}
		}
	}
	var got []string
	for _, c := range spec(t).Doc.Components.Schemas["Currency"].Value.Enum {
		got = append(got, c.(string))
	}
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("openapi.json's currencies differ from the validator's ISO 4217 list\n got: %q\nwant: %q", got, want)
	}
}
