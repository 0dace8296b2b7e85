package processortest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/akinon-gateway/gateway/provider"
	"golang.org/x/net/html"
)

// returns is the gateway's side of a bank's return: a local listener that
// keeps every form the bank's page posts to it, by path.
type returns struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  map[string][]map[string]string
	more chan struct{}
}

func newReturns(t *testing.T) *returns {
	t.Helper()
	r := &returns{got: map[string][]map[string]string{}, more: make(chan struct{}, 64)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_ = req.ParseForm()
		f := map[string]string{}
		for k := range req.Form {
			f[k] = req.Form.Get(k)
		}
		r.mu.Lock()
		r.got[req.URL.Path] = append(r.got[req.URL.Path], f)
		r.mu.Unlock()
		r.more <- struct{}{}
		_, _ = io.WriteString(w, "<!doctype html><p>returned</p>")
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *returns) url(ref string) string { return r.srv.URL + "/return/" + url.PathEscape(ref) }

func (r *returns) posts(ref string) []map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]string(nil), r.got["/return/"+url.PathEscape(ref)]...)
}

// walk is what a browser saw while following a Redirect.
type walk struct {
	pages     []string // URLs in order
	challenge bool     // an ACS page asked for a code
	fields    map[string]string
}

// follow submits a Redirect as a browser would: the form, then any ACS
// page's code form (answered with code), then the auto-submitting return
// form, until the return listener has the bank's fields.
func follow(ctx context.Context, rs *returns, ref string, rd *provider.Redirect, code string) (walk, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	var w walk
	method, action := rd.Method, rd.URL
	form := url.Values{}
	for _, f := range rd.Fields {
		form.Set(f.Name, f.Value)
	}
	for hop := 0; hop < 6; hop++ {
		if p := rs.posts(ref); len(p) > 0 {
			w.fields = p[0]
			return w, nil
		}
		w.pages = append(w.pages, action)
		req, err := http.NewRequestWithContext(ctx, method, action, strings.NewReader(form.Encode()))
		if err != nil {
			return w, fmt.Errorf("follow: %w", err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := c.Do(req)
		if err != nil {
			return w, fmt.Errorf("follow %s: %w", action, err)
		}
		doc, err := html.Parse(resp.Body)
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return w, fmt.Errorf("follow %s: HTTP %d", action, resp.StatusCode)
		}
		if p := rs.posts(ref); len(p) > 0 {
			w.fields = p[0]
			return w, nil
		}
		next, ok := FirstForm(doc)
		if !ok {
			return w, fmt.Errorf("follow %s: the page has no form to go on with", action)
		}
		if _, asks := next.Fields["code"]; asks {
			w.challenge = true
			next.Fields.Set("code", code)
		}
		base := resp.Request.URL
		to, err := base.Parse(next.Action)
		if err != nil {
			return w, fmt.Errorf("follow: form action %q: %w", next.Action, err)
		}
		method, action, form = next.Method, to.String(), next.Fields
	}
	return w, fmt.Errorf("follow: no return after %v", w.pages)
}

// Form is a page's first form as a browser would submit it; its action is
// as written on the page, still to be resolved against the page's address.
type Form struct {
	Method, Action string
	Fields         url.Values
}

// FirstForm reads the first form under n with its named inputs; a form
// that names no method is sent with GET, as a browser does.
func FirstForm(n *html.Node) (Form, bool) {
	if n.Type == html.ElementNode && n.Data == "form" {
		f := Form{Method: strings.ToUpper(attr(n, "method")), Action: attr(n, "action"), Fields: url.Values{}}
		if f.Method == "" {
			f.Method = http.MethodGet
		}
		var inputs func(*html.Node)
		inputs = func(m *html.Node) {
			if m.Type == html.ElementNode && m.Data == "input" && attr(m, "name") != "" {
				f.Fields.Set(attr(m, "name"), attr(m, "value"))
			}
			for c := m.FirstChild; c != nil; c = c.NextSibling {
				inputs(c)
			}
		}
		inputs(n)
		return f, true
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if f, ok := FirstForm(c); ok {
			return f, true
		}
	}
	return Form{}, false
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func describe(w walk) string { return fmt.Sprintf("pages %v, challenge %v", w.pages, w.challenge) }
