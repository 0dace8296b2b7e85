// Package hostedpage is the gateway's hosted page as a shopper's HTTP
// client reads it: its forms, field errors and heading, and which screen
// it is. The checkout driver's shopper and the gateway's test kit read
// the page through it.
package hostedpage

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// Kind is which of the hosted page's screens a response is.
type Kind string

const (
	KindCard       Kind = "card form"
	KindThreeDS    Kind = "3-D Secure"
	KindBank       Kind = "to or from the bank" // an auto-submitting form between the gateway and the ACS
	KindProcessing Kind = "processing"
	KindReturn     Kind = "return"
	KindMessage    Kind = "message"
)

// Form is one form of a page.
type Form struct {
	ID, Method, Action string
	Fields             url.Values          // inputs with a name, in their initial value
	Selects            map[string][]string // select name → option values
}

// Page is what a shopper's client needs of a page.
type Page struct {
	Forms  []Form
	Errors map[string]string // id err-<field> → text
	Title  string            // the first h1
}

// Parse reads the forms, the field errors and the heading.
func Parse(r io.Reader) (*Page, error) {
	doc, err := html.Parse(r)
	if err != nil {
		return nil, err
	}
	pp := &pageParser{p: &Page{Errors: map[string]string{}}}
	pp.walk(doc)
	return pp.p, nil
}

// Read reads and parses a screen of the gateway's, closing its body.
func Read(resp *http.Response) (*Page, error) {
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	return Parse(bytes.NewReader(raw))
}

// Bytes parses a page already read.
func Bytes(raw []byte) (*Page, error) { return Parse(bytes.NewReader(raw)) }

// pageParser is a page being read; form is the form it is inside.
type pageParser struct {
	p    *Page
	form *Form
}

func (pp *pageParser) walk(n *html.Node) {
	if n.Type == html.ElementNode && !pp.element(n) {
		return
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		pp.walk(c)
	}
}

// element reads one element; false when its children are read already.
func (pp *pageParser) element(n *html.Node) bool {
	p := pp.p
	switch n.Data {
	case "form":
		p.Forms = append(p.Forms, Form{ID: Attr(n, "id"), Method: method(n),
			Action: Attr(n, "action"), Fields: url.Values{}, Selects: map[string][]string{}})
		pp.form = &p.Forms[len(p.Forms)-1]
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			pp.walk(c)
		}
		pp.form = nil
		return false
	case "input":
		if pp.form != nil && Attr(n, "name") != "" {
			pp.form.Fields.Add(Attr(n, "name"), Attr(n, "value"))
		}
	case "select":
		if pp.form != nil && Attr(n, "name") != "" {
			pp.selectField(n)
			return false
		}
	case "h1":
		if p.Title == "" {
			p.Title = strings.TrimSpace(Text(n))
		}
	}
	if id := Attr(n, "id"); strings.HasPrefix(id, "err-") {
		p.Errors[strings.TrimPrefix(id, "err-")] = strings.TrimSpace(Text(n))
	}
	return true
}

// selectField reads a select's options, the first one chosen.
func (pp *pageParser) selectField(n *html.Node) {
	name := Attr(n, "name")
	var opts []string
	for _, o := range elements(n, "option") {
		opts = append(opts, Attr(o, "value"))
	}
	pp.form.Selects[name] = opts
	if len(opts) > 0 {
		pp.form.Fields.Set(name, opts[0])
	}
}

// kind says which screen the page is; refresh is the Refresh header.
func (p *Page) Kind(refresh string) (Kind, *Form) {
	for i := range p.Forms {
		f := &p.Forms[i]
		switch {
		case f.ID == "return":
			return KindReturn, f
		case f.ID == "bank" || f.ID == "acs-return":
			return KindBank, f
		case f.Fields.Has("cardNumber"):
			return KindCard, f
		case f.Fields.Has("code"):
			return KindThreeDS, f
		}
	}
	if refresh != "" {
		return KindProcessing, nil
	}
	return KindMessage, nil
}

// Attr is an element's attribute, empty when it has none.
func Attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func elements(n *html.Node, tag string) []*html.Node {
	var out []*html.Node
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && c.Data == tag {
			out = append(out, c)
		}
		out = append(out, elements(c, tag)...)
	}
	return out
}

// Text is the text inside an element.
func Text(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(Text(c))
	}
	return b.String()
}

// method is a form's method, GET when it names none.
func method(n *html.Node) string {
	if m := Attr(n, "method"); m != "" {
		return strings.ToUpper(m)
	}
	return http.MethodGet
}
