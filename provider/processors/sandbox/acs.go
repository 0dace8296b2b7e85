package sandbox

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/akinon-gateway/gateway/provider"
)

// The sandbox's Access Control Server: the issuer's 3-D Secure page, on
// an origin of its own (Options.ACSURL), to which Authorise sends the
// shopper's browser and from which the browser comes back to the
// gateway's return URL with fields the bank signed, for Complete.

// ACS flows, named in the signed request.
const (
	flowChallenge    = "challenge"
	flowFrictionless = "frictionless"
)

// acsRequest is what Authorise sends the ACS through the browser; sig
// binds it, so the ACS sends no one's browser to a URL it was not given.
type acsRequest struct {
	Ref, Amount, Currency, ReturnURL, Flow string
}

func (r acsRequest) fields() []string {
	return []string{r.Ref, r.Amount, r.Currency, r.ReturnURL, r.Flow}
}

// redirect is Authorise's answer for a card enrolled in 3-D Secure.
func (p *Processor) redirect(ctx context.Context, req provider.AuthoriseRequest, flow string) (*provider.Redirect, error) {
	key, err := p.acsKey(ctx)
	if err != nil {
		return nil, err
	}
	r := acsRequest{Ref: req.Reference, Amount: req.Amount.String(), Currency: req.Currency, ReturnURL: req.ReturnURL, Flow: flow}
	return &provider.Redirect{Method: http.MethodPost, URL: strings.TrimSuffix(p.opts.ACSURL, "/") + "/acs", Fields: []provider.FormField{
		{Name: "ref", Value: r.Ref}, {Name: "amount", Value: r.Amount}, {Name: "currency", Value: r.Currency},
		{Name: "returnUrl", Value: r.ReturnURL}, {Name: "flow", Value: r.Flow},
		{Name: "sig", Value: sign(key, "acs", r.fields()...)},
	}}, nil
}

// Complete implements provider.Completer: it verifies the ACS's fields
// against what the gateway stored and records the authentication's
// outcome once per reference (a replay gets the first answer).
func (p *Processor) Complete(ctx context.Context, req provider.CompleteRequest) (provider.Result, error) {
	key, err := p.acsKey(ctx)
	if err != nil {
		return provider.Result{}, err
	}
	f := req.Fields
	res := approved(processorID("", req.Reference))
	switch {
	case !hmac.Equal([]byte(f["mac"]), []byte(sign(key, "return", f["ref"], f["amount"], f["currency"], f["status"]))):
		res = declined("3DS", "the bank's return does not verify")
	case f["ref"] != req.Reference || f["amount"] != req.Amount.String() || f["currency"] != req.Currency:
		res = declined("3DS", "the bank's return names another payment")
	case f["status"] != "Y":
		res = declined("3DS", "3-D Secure authentication failed")
	}
	return p.act(ctx, "Complete", entry{op: provider.OpAuthenticate, ref: req.Reference, tag: digest(req.Reference), res: res})
}

// ACS is the handler of the ACS origin: POST /acs takes the browser from
// the gateway and asks for the code (or, frictionless, answers at once);
// POST /acs/answer takes the code and sends the browser back.
func (p *Processor) ACS() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /acs", func(w http.ResponseWriter, r *http.Request) { p.acsPage(w, r, false) })
	mux.HandleFunc("POST /acs/answer", func(w http.ResponseWriter, r *http.Request) { p.acsPage(w, r, true) })
	return mux
}

func (p *Processor) acsPage(w http.ResponseWriter, r *http.Request, answered bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	key, err := p.acsKey(r.Context())
	if err != nil {
		http.Error(w, "the ACS is unavailable", http.StatusServiceUnavailable)
		return
	}
	in := acsRequest{Ref: r.PostForm.Get("ref"), Amount: r.PostForm.Get("amount"), Currency: r.PostForm.Get("currency"),
		ReturnURL: r.PostForm.Get("returnUrl"), Flow: r.PostForm.Get("flow")}
	back, err := url.Parse(in.ReturnURL)
	if !hmac.Equal([]byte(r.PostForm.Get("sig")), []byte(sign(key, "acs", in.fields()...))) ||
		err != nil || (back.Scheme != "http" && back.Scheme != "https") || back.Host == "" {
		http.Error(w, "this authentication request was not issued by the bank", http.StatusBadRequest)
		return
	}
	nonce := sign(key, "nonce", randomString())[:22]
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+nonce+"'; script-src 'nonce-"+nonce+
		"'; form-action 'self' "+back.Scheme+"://"+back.Host+"; frame-ancestors 'none'; base-uri 'none'")
	d := acsData{Nonce: nonce, Req: in, Sig: r.PostForm.Get("sig")}
	if in.Flow == flowFrictionless || answered {
		status := "N"
		if in.Flow == flowFrictionless || r.PostForm.Get("code") == ThreeDSCode {
			status = "Y"
		}
		d.Back = []provider.FormField{{Name: "ref", Value: in.Ref}, {Name: "amount", Value: in.Amount},
			{Name: "currency", Value: in.Currency}, {Name: "status", Value: status},
			{Name: "mac", Value: sign(key, "return", in.Ref, in.Amount, in.Currency, status)}}
	}
	_ = acsTemplate.Execute(w, d)
}

type acsData struct {
	Nonce, Sig string
	Req        acsRequest
	Back       []provider.FormField // set: send the browser back with these
}

var acsTemplate = template.Must(template.New("acs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sandbox Bank · 3-D Secure</title>
<style nonce="{{.Nonce}}">body{font-family:sans-serif;max-width:26rem;margin:2rem auto;padding:0 1rem}</style></head><body>
<h1>Sandbox Bank · 3-D Secure</h1>
{{if .Back}}<p>Returning to the shop…</p>
<form method="POST" action="{{.Req.ReturnURL}}" id="acs-return">
{{range .Back}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<button type="submit" id="acs-continue">Continue</button></form>
<script nonce="{{.Nonce}}">document.getElementById("acs-return").submit();</script>
{{else}}<p>Payment of {{.Req.Amount}} {{.Req.Currency}}. Enter the code we sent you (the sandbox's code is 123456).</p>
<form method="POST" action="/acs/answer" id="acs-challenge">
<input type="hidden" name="ref" value="{{.Req.Ref}}"><input type="hidden" name="amount" value="{{.Req.Amount}}">
<input type="hidden" name="currency" value="{{.Req.Currency}}"><input type="hidden" name="returnUrl" value="{{.Req.ReturnURL}}">
<input type="hidden" name="flow" value="{{.Req.Flow}}"><input type="hidden" name="sig" value="{{.Sig}}">
<label for="code">Verification code</label>
<input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="8" required>
<button type="submit" id="verify">Verify</button></form>{{end}}
</body></html>
`))

// acsKey is the bank's signing key: Options.ACSKey, or one kept in the
// books so every replica's ACS and Complete agree. Each use keeps it for
// another retention, so it outlives every challenge signed with it and
// goes with the rest of the books once unused.
func (p *Processor) acsKey(ctx context.Context) ([]byte, error) {
	if len(p.opts.ACSKey) > 0 {
		return p.opts.ACSKey, nil
	}
	k := p.opts.Prefix + ":acskey"
	if err := p.rdb.SetNX(ctx, k, randomString(), p.opts.Retention).Err(); err != nil {
		return nil, booksError(err)
	}
	v, err := p.rdb.GetEx(ctx, k, p.opts.Retention).Result()
	if err != nil {
		return nil, booksError(err)
	}
	return []byte(v), nil
}

func sign(key []byte, purpose string, fields ...string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose + "|" + strings.Join(fields, "|")))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func randomString() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("sandbox: crypto/rand: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}
