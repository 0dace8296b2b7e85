// Package openapicheck holds HTTP exchanges with the gateway against its
// OpenAPI document (extension/openapi.json), with kin-openapi's
// openapi3filter. Tests use it so that the document cannot drift from
// what the gateway does: every request a test sends and every answer it
// gets is validated, and an exchange the document does not describe
// fails the test.
//
// The rules, for each exchange:
//
//   - its method and path must be an operation of the document (a test
//     that sends one on purpose, such as an unknown endpoint, marks the
//     request with Unlisted);
//   - the answer must match the document: a documented status, its
//     headers, its content type and its body's schema;
//   - a request the document refuses must be one the gateway refuses
//     before acting on what it asks (400, 401, 403, 413, 415, and the
//     hosted page's refused form, a 422 page): the document may be
//     looser than the gateway (it cannot say, for instance, that a name
//     is not repeated in a JSON object), never stricter.
//
// It is used by tests only; the gateway does not import it.
package openapicheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/akinon-gateway/gateway/extension"
)

// Checker validates exchanges against the document. It is safe for
// concurrent use.
type Checker struct {
	Doc    *openapi3.T
	router routers.Router

	mu    sync.Mutex
	stats Stats
}

// Stats counts what a Checker has seen.
type Stats struct {
	Exchanges   int            // exchanges validated against the document
	Refused     int            // of which the document refused the request, and so did the gateway
	Unlisted    int            // requests marked as off the document on purpose, not validated
	ByOperation map[string]int // validated exchanges by "METHOD /path status" of the document
}

func (s Stats) String() string {
	ops := make([]string, 0, len(s.ByOperation))
	for op, n := range s.ByOperation {
		ops = append(ops, fmt.Sprintf("%s ×%d", op, n))
	}
	sort.Strings(ops)
	return fmt.Sprintf("validated %d exchanges against openapi.json (%d requests the document refuses, all refused by the gateway too; %d off the document on purpose): %s",
		s.Exchanges, s.Refused, s.Unlisted, strings.Join(ops, ", "))
}

// Load reads the embedded document, validates it as OpenAPI (3.1: its
// schemas are JSON Schema 2020-12) and builds its router.
func Load() (*Checker, error) {
	// The hosted page's answers are HTML: read as text, their schema
	// is a string.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(extension.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("openapi.json does not load: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi.json is not valid OpenAPI %s: %w", doc.OpenAPI, err)
	}
	// Formats kin-openapi leaves unchecked unless asked; the document
	// uses them for ids and addresses. email and uri stay annotations.
	doc.SetStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC4122))
	doc.SetStringFormatValidator("ipv4", openapi3.NewIPValidator(true))
	doc.SetStringFormatValidator("ipv6", openapi3.NewIPValidator(false))
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi.json: router: %w", err)
	}
	return &Checker{Doc: doc, router: router}, nil
}

var (
	sharedOnce    sync.Once
	sharedChecker *Checker
	sharedErr     error
)

// Shared is one Checker per test binary, so its counts cover every test.
func Shared() (*Checker, error) {
	sharedOnce.Do(func() { sharedChecker, sharedErr = Load() })
	return sharedChecker, sharedErr
}

// Stats returns the counts so far.
func (c *Checker) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stats
	st.ByOperation = maps.Clone(c.stats.ByOperation)
	return st
}

// refusals are the answers that refuse a request before acting on what
// it asks: its shape, its credentials, its anti-forgery token, its size
// or its media type.
var refusals = map[int]bool{
	http.StatusBadRequest:            true,
	http.StatusUnauthorized:          true,
	http.StatusForbidden:             true,
	http.StatusRequestEntityTooLarge: true,
	http.StatusUnsupportedMediaType:  true,
}

// Check validates one exchange: the request as sent (its body in
// reqBody) and the answer's status, headers and body.
func (c *Checker) Check(req *http.Request, reqBody []byte, status int, header http.Header, body []byte) error {
	return c.check(req, reqBody, status, header, body, false)
}

// CheckWithoutBody is Check but for the answer's body, for an answer
// whose body a test knows to differ from the document for now.
func (c *Checker) CheckWithoutBody(req *http.Request, reqBody []byte, status int, header http.Header) error {
	return c.check(req, reqBody, status, header, nil, true)
}

func (c *Checker) check(req *http.Request, reqBody []byte, status int, header http.Header, body []byte, noBody bool) error {
	what := req.Method + " " + req.URL.RequestURI()
	r := req.Clone(context.Background())
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := c.router.FindRoute(r)
	if err != nil {
		return fmt.Errorf("%s (answered %d) is not in openapi.json: %v", what, status, err)
	}
	in := &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: params,
		Route:      route,
		Options:    &openapi3filter.Options{AuthenticationFunc: basicPresented, SchemaValidationOptions: c.Doc.GetSchemaValidationOptions()},
	}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	// ValidateRequest reads the body; the answer's check reads the
	// request again.
	r.Body = io.NopCloser(bytes.NewReader(reqBody))

	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: noBody,
			SchemaValidationOptions: c.Doc.GetSchemaValidationOptions()},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return fmt.Errorf("%s: the answer %d does not match openapi.json: %v\nbody: %.400s", what, status, err, body)
	}
	// The hosted page reads a form as browsers send it and Go parses it,
	// leniently: a malformed body still yields its well-formed pairs, and
	// a form the card rules refuse is shown again with a 422. Nothing
	// reaches the processor then either.
	formRefused := status == http.StatusUnprocessableEntity && strings.HasPrefix(header.Get("Content-Type"), "text/html")
	if reqErr != nil && !refusals[status] && !formRefused {
		return fmt.Errorf("%s: the gateway answered %d to a request openapi.json refuses: %v\nrequest body: %.400s", what, status, reqErr, reqBody)
	}
	c.mu.Lock()
	c.stats.Exchanges++
	if c.stats.ByOperation == nil {
		c.stats.ByOperation = map[string]int{}
	}
	c.stats.ByOperation[route.Method+" "+route.Path+" "+strconv.Itoa(status)]++
	if reqErr != nil {
		c.stats.Refused++
	}
	c.mu.Unlock()
	return nil
}

// basicPresented satisfies an HTTP Basic security scheme with a request
// that presents Basic credentials: the document cannot know which ones
// are right, the gateway checks them.
func basicPresented(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	s := in.SecurityScheme
	if s == nil || s.Type != "http" || !strings.EqualFold(s.Scheme, "basic") {
		return fmt.Errorf("openapicheck: security scheme %q is not HTTP Basic", in.SecuritySchemeName)
	}
	h := in.RequestValidationInput.Request.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:6], "basic ") {
		return errors.New("no Basic credentials")
	}
	return nil
}

type unlistedKey struct{}

// Unlisted marks a request that is off the document on purpose (an
// unknown endpoint, a method no endpoint has): a Transport lets it
// through unchecked and counts it.
func Unlisted(req *http.Request) *http.Request {
	return req.WithContext(context.WithValue(req.Context(), unlistedKey{}, true))
}

func isUnlisted(req *http.Request) bool {
	v, _ := req.Context().Value(unlistedKey{}).(bool)
	return v
}

// Transport checks every exchange that passes through it, redirects
// followed by a client included, and reports each mismatch.
type Transport struct {
	Base    http.RoundTripper // nil: http.DefaultTransport
	Checker *Checker
	Report  func(error)
}

// RoundTrip sends the request with its body read into memory, reads the
// whole answer, checks the exchange and hands the answer on unchanged.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if isUnlisted(req) {
		t.Checker.mu.Lock()
		t.Checker.stats.Unlisted++
		t.Checker.mu.Unlock()
		return base.RoundTrip(req)
	}
	var reqBody []byte
	send := req
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		send = req.Clone(req.Context())
		send.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := base.RoundTrip(send)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err := t.Checker.Check(send, reqBody, resp.StatusCode, resp.Header, body); err != nil {
		t.Report(err)
	}
	return resp, nil
}
