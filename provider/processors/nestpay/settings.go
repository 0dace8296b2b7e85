// Package nestpay is the processor for the NestPay virtual POS (Asseco /
// Payten), which many Turkish banks run, in its "3D" model: Authorise
// answers a form that takes the shopper's browser to the bank's 3D gate;
// the bank's ACS sends the browser back with the authentication values and
// a ver3 hash; Complete checks them against what the gateway stored and
// asks the bank's XML API for the provision. Capture (PostAuth), Void,
// Refund (Credit) and the order-status query go through the same API.
package nestpay

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Name is the processor's name in a merchant's section and in targetProvider.
const Name = "nestpay"

// Settings are one merchant's NestPay account, as its bank issues them: a
// merchant's processor section in MERCHANTS_FILE, by its JSON keys. They
// have no environment variables, since each merchant has an account of its
// own at its bank; secret marks what the configuration line masks.
type Settings struct {
	ClientID    string        `json:"clientId"`                  // the store's client id (merchant number)
	StoreKey    string        `json:"storeKey" secret:"true"`    // the 3D secure key: signs the gate form and the bank's return
	APIUser     string        `json:"apiUser"`                   // the XML API user
	APIPassword string        `json:"apiPassword" secret:"true"` // the XML API user's password
	GateURL     string        `json:"gateUrl"`                   // the 3D gate, e.g. https://…/fim/est3Dgate
	APIURL      string        `json:"apiUrl"`                    // the XML API, e.g. https://…/fim/api
	StoreType   string        `json:"storeType"`                 // "3d" (the only model this adapter speaks); empty means 3d
	Timeout     time.Duration `json:"timeout"`                   // one XML API call; zero means DefaultTimeout
}

// DefaultTimeout bounds one XML API call when Settings.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// StoreType3D is the "3D" model: authentication at the gate, provision by API.
const StoreType3D = "3d"

// Defaults is a merchant's section before its keys are read.
func Defaults() *Settings { return &Settings{StoreType: StoreType3D, Timeout: DefaultTimeout} }

// Validate names every setting that cannot work by its JSON key.
func (s Settings) Validate() error {
	var errs []error
	for _, r := range []struct{ key, v string }{{"clientId", s.ClientID}, {"storeKey", s.StoreKey},
		{"apiUser", s.APIUser}, {"apiPassword", s.APIPassword}} {
		if r.v == "" {
			errs = append(errs, fmt.Errorf("%s: is required", r.key))
		}
	}
	for _, r := range []struct{ key, v string }{{"gateUrl", s.GateURL}, {"apiUrl", s.APIURL}} {
		u, err := url.Parse(r.v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s: %q is not an absolute http(s) URL", r.key, r.v))
		}
	}
	if s.StoreType != "" && s.StoreType != StoreType3D {
		errs = append(errs, fmt.Errorf("storeType: %q is not supported (only %q)", s.StoreType, StoreType3D))
	}
	if s.Timeout < 0 {
		errs = append(errs, errors.New("timeout: is negative"))
	}
	return errors.Join(errs...)
}

// String masks the secrets, so the settings can be logged.
func (s Settings) String() string {
	return fmt.Sprintf("nestpay{client=%s user=%s password=%s storeKey=%s gate=%s api=%s}",
		s.ClientID, s.APIUser, mask(s.APIPassword), mask(s.StoreKey), s.GateURL, s.APIURL)
}

// GoString keeps %#v from printing the secrets.
func (s Settings) GoString() string { return s.String() }

func mask(secret string) string {
	if secret == "" {
		return ""
	}
	return "***"
}
