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

// Settings are one merchant's NestPay account, as its bank issues them.
type Settings struct {
	ClientID    string // the store's client id (merchant number)
	StoreKey    string // the 3D secure key: signs the gate form and the bank's return
	APIUser     string // the XML API user
	APIPassword string
	GateURL     string // the 3D gate, e.g. https://…/fim/est3Dgate
	APIURL      string // the XML API, e.g. https://…/fim/api
	StoreType   string // "3d" (the only model this adapter speaks); empty means 3d
	Timeout     time.Duration
}

// DefaultTimeout bounds one XML API call when Settings.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// StoreType3D is the "3D" model: authentication at the gate, provision by API.
const StoreType3D = "3d"

// Validate names the first setting that cannot work.
func (s Settings) Validate() error {
	for name, v := range map[string]string{"client id": s.ClientID, "store key": s.StoreKey,
		"API user": s.APIUser, "API password": s.APIPassword} {
		if v == "" {
			return fmt.Errorf("nestpay: %s is required", name)
		}
	}
	for name, v := range map[string]string{"3D gate URL": s.GateURL, "API URL": s.APIURL} {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("nestpay: %s %q is not an absolute http(s) URL", name, v)
		}
	}
	if s.StoreType != "" && s.StoreType != StoreType3D {
		return fmt.Errorf("nestpay: store type %q is not supported (only %q)", s.StoreType, StoreType3D)
	}
	if s.Timeout < 0 {
		return errors.New("nestpay: timeout is negative")
	}
	return nil
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
