package extension

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPI is the OpenAPI 3.1 description of every endpoint: the five
// calls, the hosted page, the probes and the operator API. The tests hold
// every exchange they make against it (extension/openapicheck), so it
// cannot drift from what the gateway does.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the document GET /openapi.json serves.
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }

// serveOpenAPI answers GET /openapi.json with the embedded document as
// is: public, no auth.
func serveOpenAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPI)
}
