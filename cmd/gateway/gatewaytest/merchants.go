package gatewaytest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// MerchantsFile writes a MERCHANTS_FILE of one merchant per processor
// section given (a JSON object or list, "" for none), ids shop-0…, the
// first with the kit's credentials and the others with numbered ones.
func MerchantsFile(tb testing.TB, sections ...string) string {
	tb.Helper()
	var entries []string
	for i, sec := range sections {
		user, password := User, Password
		if i > 0 {
			user, password = User+"-"+strconv.Itoa(i), Password+"-"+strconv.Itoa(i)
		}
		entry := `{"id": "shop-` + strconv.Itoa(i) + `", "username": "` + user + `", "password": "` + password +
			`", "hashKey": "` + HashKey + `"`
		if sec != "" {
			entry += `, "processor": ` + sec
		}
		entries = append(entries, entry+"}")
	}
	path := filepath.Join(tb.TempDir(), "merchants.json")
	if err := os.WriteFile(path, []byte(`{"merchants": [`+strings.Join(entries, ",")+`]}`), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}
