package main

import (
	"io"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// The gateway's hosted page as a shopper's HTTP client reads it.

// pageKind is which of the hosted page's screens a response is.
type pageKind string

const (
	kindCard       pageKind = "card form"
	kindThreeDS    pageKind = "3-D Secure"
	kindBank       pageKind = "to or from the bank" // an auto-submitting form between the gateway and the ACS
	kindProcessing pageKind = "processing"
	kindReturn     pageKind = "return"
	kindMessage    pageKind = "message"
)

// htmlForm is one form of a page.
type htmlForm struct {
	ID, Method, Action string
	Fields             url.Values          // inputs with a name, in their initial value
	Selects            map[string][]string // select name → option values
}

// hostedPage is what a shopper's client needs of a page.
type hostedPage struct {
	Forms  []htmlForm
	Errors map[string]string // id err-<field> → text
	Title  string            // the first h1
}

// parseHostedPage reads the forms, the field errors and the heading.
func parseHostedPage(r io.Reader) (*hostedPage, error) {
	doc, err := html.Parse(r)
	if err != nil {
		return nil, err
	}
	pp := &pageParser{p: &hostedPage{Errors: map[string]string{}}}
	pp.walk(doc)
	return pp.p, nil
}

// pageParser is a page being read; form is the form it is inside.
type pageParser struct {
	p    *hostedPage
	form *htmlForm
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
		p.Forms = append(p.Forms, htmlForm{ID: attr(n, "id"), Method: strings.ToUpper(or(attr(n, "method"), "GET")),
			Action: attr(n, "action"), Fields: url.Values{}, Selects: map[string][]string{}})
		pp.form = &p.Forms[len(p.Forms)-1]
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			pp.walk(c)
		}
		pp.form = nil
		return false
	case "input":
		if pp.form != nil && attr(n, "name") != "" {
			pp.form.Fields.Add(attr(n, "name"), attr(n, "value"))
		}
	case "select":
		if pp.form != nil && attr(n, "name") != "" {
			pp.selectField(n)
			return false
		}
	case "h1":
		if p.Title == "" {
			p.Title = strings.TrimSpace(text(n))
		}
	}
	if id := attr(n, "id"); strings.HasPrefix(id, "err-") {
		p.Errors[strings.TrimPrefix(id, "err-")] = strings.TrimSpace(text(n))
	}
	return true
}

// selectField reads a select's options, the first one chosen.
func (pp *pageParser) selectField(n *html.Node) {
	name := attr(n, "name")
	var opts []string
	for _, o := range elements(n, "option") {
		opts = append(opts, attr(o, "value"))
	}
	pp.form.Selects[name] = opts
	if len(opts) > 0 {
		pp.form.Fields.Set(name, opts[0])
	}
}

// kind says which screen the page is; refresh is the Refresh header.
func (p *hostedPage) kind(refresh string) (pageKind, *htmlForm) {
	for i := range p.Forms {
		f := &p.Forms[i]
		switch {
		case f.ID == "return":
			return kindReturn, f
		case f.ID == "bank" || f.ID == "acs-return":
			return kindBank, f
		case f.Fields.Has("cardNumber"):
			return kindCard, f
		case f.Fields.Has("code"):
			return kindThreeDS, f
		}
	}
	if refresh != "" {
		return kindProcessing, nil
	}
	return kindMessage, nil
}

func attr(n *html.Node, name string) string {
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

func text(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(text(c))
	}
	return b.String()
}
