package nestpay_test

import (
	"net/http"
	"testing"

	"golang.org/x/net/html"

	"github.com/akinon-gateway/gateway/provider/processortest"
)

// hiddenInputs reads the fields of the bank's auto-submitting return page.
func hiddenInputs(t *testing.T, resp *http.Response) map[string]string {
	t.Helper()
	defer resp.Body.Close()
	doc, err := html.Parse(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("return page: HTTP %d, %v", resp.StatusCode, err)
	}
	form, ok := processortest.FirstForm(doc)
	if !ok {
		t.Fatal("return page: no form")
	}
	return flat(form.Fields)
}
