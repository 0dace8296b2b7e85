package commerce

import (
	"encoding/json"
	"testing"
)

func TestParseAmount(t *testing.T) {
	cases := []struct {
		in      string
		want    Amount
		wantErr bool
	}{
		{"100", 10000, false},
		{"100.5", 10050, false},
		{"100.50", 10050, false},
		{"0.01", 1, false},
		{"0", 0, false},
		{"999999999999.99", 99999999999999, false},
		{"1000000000000.01", 0, true},
		{"", 0, true},
		{".5", 0, true},
		{"1.", 0, true},
		{"1.234", 0, true},
		{"-1.00", 0, true},
		{"+1.00", 0, true},
		{"1e2", 0, true},
		{"1,00", 0, true},
		{"12345678901234", 0, true},
		{" 1.00", 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseAmount(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseAmount(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("ParseAmount(%q) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
}

func TestAmountText(t *testing.T) {
	cases := []struct {
		a    Amount
		want string
	}{
		{0, "0.00"}, {1, "0.01"}, {10, "0.10"}, {10050, "100.50"}, {-250, "-2.50"},
	}
	for _, tc := range cases {
		if got := tc.a.String(); got != tc.want {
			t.Errorf("Amount(%d).String() = %q, want %q", tc.a, got, tc.want)
		}
		b, err := json.Marshal(struct {
			A Amount `json:"a"`
		}{tc.a})
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"a":` + tc.want + `}`; string(b) != want {
			t.Errorf("JSON %s, want %s (a number with 2 decimals)", b, want)
		}
	}
	var a Amount
	if err := json.Unmarshal([]byte(`"12.30"`), &a); err != nil || a != 1230 {
		t.Errorf(`Unmarshal("12.30") = %d, %v`, a, err)
	}
}
