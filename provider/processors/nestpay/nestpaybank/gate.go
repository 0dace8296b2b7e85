package nestpaybank

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/akinon-gateway/gateway/hashing"
)

// cardAnswers is what the provision answers for a test card, and what the
// 3D gate does with it.
var cardAnswers = map[string]struct{ mdStatus, answer string }{
	CardFrictionless: {"1", "00"},
	CardChallenge:    {"", "00"}, // decided at the ACS
	CardNotEnrolled:  {"2", "00"},
	CardDeclined:     {"1", "05"},
	CardInsufficient: {"1", "51"},
}

// gate is the 3D gate: it checks the store's form and its hash, records the
// order without the card, and sends the browser to the ACS or straight back.
func (b *Bank) gate(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	f := map[string]string{}
	for k := range r.PostForm {
		f[k] = r.PostForm.Get(k)
	}
	if f["clientid"] != b.cfg.ClientID || !hashing.VerifyNestPayV3(b.cfg.StoreKey, hashing.NestPayHashField(f), f) {
		http.Error(w, "3D gate: hash or client id does not verify", http.StatusBadRequest)
		return
	}
	amount, err := minor(f["amount"])
	if err != nil || f["oid"] == "" || f["okUrl"] == "" || f["failUrl"] == "" {
		http.Error(w, "3D gate: oid, amount, okUrl and failUrl are required", http.StatusBadRequest)
		return
	}
	pan := f["pan"]
	card, known := cardAnswers[pan]
	if !known {
		card = cardAnswers[CardFrictionless]
	}
	o := order{State: "3D", Currency: f["currency"], Amount: amount, Taksit: f["taksit"], MD: token(),
		MDStatus: card.mdStatus, Answer: card.answer, OkURL: f["okUrl"], FailURL: f["failUrl"],
		Masked: maskPAN(pan), Rnd: f["rnd"], Lang: f["lang"], TranType: f["TranType"]}
	ctx := r.Context()
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, err := b.load(ctx, f["oid"]); err != errNoOrder {
		http.Error(w, "3D gate: order "+f["oid"]+" exists", http.StatusConflict)
		return
	}
	if err := b.save(ctx, f["oid"], o, nil, "", ""); err != nil {
		http.Error(w, "3D gate: books unavailable", http.StatusServiceUnavailable)
		return
	}
	if err := b.rdb.Set(ctx, b.mdKey(o.MD), f["oid"], 0).Err(); err != nil {
		http.Error(w, "3D gate: books unavailable", http.StatusServiceUnavailable)
		return
	}
	if o.MDStatus == "" {
		render(w, acsPage, map[string]string{"MD": o.MD, "Masked": o.Masked, "Amount": f["amount"]})
		return
	}
	b.sendBack(w, f["oid"], o)
}

// acs is the issuer's challenge: ChallengeCode authenticates, anything else fails.
func (b *Bank) acs(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	b.mu.Lock()
	defer b.mu.Unlock()
	oid, err := b.rdb.Get(ctx, b.mdKey(r.PostFormValue("md"))).Result()
	if err != nil {
		http.Error(w, "ACS: unknown transaction", http.StatusNotFound)
		return
	}
	o, err := b.load(ctx, oid)
	if err != nil || o.State != "3D" || o.MDStatus != "" {
		http.Error(w, "ACS: transaction already answered", http.StatusConflict)
		return
	}
	o.MDStatus = "0"
	if r.PostFormValue("code") == ChallengeCode {
		o.MDStatus = "1"
	}
	if err := b.save(ctx, oid, o, nil, "", ""); err != nil {
		http.Error(w, "ACS: books unavailable", http.StatusServiceUnavailable)
		return
	}
	b.sendBack(w, oid, o)
}

// sendBack answers the page that posts the bank's fields to okUrl or
// failUrl; with DuplicateReturn it posts them a second time itself.
func (b *Bank) sendBack(w http.ResponseWriter, oid string, o order) {
	fields := b.returnFields(oid, o)
	target := o.FailURL
	if o.MDStatus >= "1" && o.MDStatus <= "4" {
		target = o.OkURL
	}
	if b.faults().DuplicateReturn {
		form := url.Values{}
		for k, v := range fields {
			form.Set(k, v)
		}
		go func() { // a second delivery of the same return, as a bank's retry would make
			c := &http.Client{Timeout: 5 * time.Second}
			if resp, err := c.PostForm(target, form); err == nil {
				_ = resp.Body.Close()
			}
		}()
	}
	render(w, returnPage, map[string]any{"URL": target, "Fields": fields})
}

// returnFields are the fields of the return POST, signed with the ver3 hash.
func (b *Bank) returnFields(oid string, o order) map[string]string {
	f := map[string]string{
		"clientid": b.cfg.ClientID, "oid": oid, "amount": amountText(o.Amount), "currency": o.Currency,
		"taksit": o.Taksit, "TranType": o.TranType, "mdStatus": o.MDStatus, "md": o.MD, "rnd": o.Rnd,
		"lang": o.Lang, "maskedCreditCard": o.Masked, "hashAlgorithm": "ver3", "storetype": "3d",
		"xid": "xid" + o.MD[:16],
		"eci": "05", "cavv": "AAABBBCCCDDD" + o.MD[:8], "mdErrorMsg": mdErrorMsg(o.MDStatus),
	}
	if o.MDStatus == "2" {
		f["eci"], f["cavv"] = "06", ""
	}
	f["HASH"] = hashing.NestPayV3(b.cfg.StoreKey, f)
	return f
}

func mdErrorMsg(s string) string {
	switch s {
	case "1":
		return "Authenticated"
	case "2":
		return "Not enrolled"
	}
	return "Not authenticated"
}

func maskPAN(pan string) string {
	if len(pan) < 10 {
		return ""
	}
	return pan[:6] + strings.Repeat("*", len(pan)-10) + pan[len(pan)-4:]
}

func token() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// The pages carry the ids an issuer's pages are driven by in the browser
// walk (cmd/checkout): the challenge form, its code field and button, the
// form back to the store.
var (
	acsPage = template.Must(template.New("acs").Parse(`<!doctype html><html><head><meta charset="utf-8"><title>Issuer ACS</title></head>
<body><h1>3-D Secure</h1><p>Card {{.Masked}}, amount {{.Amount}}. Enter the code sent to your phone.</p>
<form method="POST" action="/acs" id="acs-challenge"><input type="hidden" name="md" value="{{.MD}}">
<label>Code <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code"></label><button type="submit" id="verify">Confirm</button></form></body></html>`))
	returnPage = template.Must(template.New("return").Parse(`<!doctype html><html><head><meta charset="utf-8"><title>Returning to the store</title></head>
<body onload="document.forms[0].submit()"><form method="POST" action="{{.URL}}" id="acs-return">{{range $k, $v := .Fields}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
<noscript><p>Press the button to return to the store.</p></noscript><button type="submit" id="acs-continue">Continue</button></form></body></html>`))
)

func render(w http.ResponseWriter, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		http.Error(w, "page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}
