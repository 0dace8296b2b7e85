package provider

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestRedirectMasksSecrets(t *testing.T) {
	r := Redirect{Method: "POST", URL: "https://bank.example/3dgate", Fields: []FormField{
		{Name: "oid", Value: "ord-1"},
		{Name: "pan", Value: "4000002760003184", Secret: true},
		{Name: "cv2", Value: "987", Secret: true},
	}}
	js, err := json.Marshal(Result{Outcome: Challenge, Redirect: &r})
	if err != nil {
		t.Fatal(err)
	}
	for _, form := range []string{r.String(), fmt.Sprintf("%v", r), fmt.Sprintf("%#v", r), fmt.Sprintf("%+v", &r), string(js)} {
		for _, secret := range []string{"4000002760003184", "987"} {
			if strings.Contains(form, secret) {
				t.Errorf("%q shows %s", form, secret)
			}
		}
		if !strings.Contains(form, "ord-1") {
			t.Errorf("%q lost the order", form)
		}
	}
}
