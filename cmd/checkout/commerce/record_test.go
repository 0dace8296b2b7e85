package commerce

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRecorderRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	r := NewRecorder(&buf)
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := &Exchange{Start: time.Now(), Endpoint: EndpointRefund, RequestID: fmt.Sprint("req-", i),
				Request: []byte(fmt.Sprintf(`{"guid":"g%d","amount":1.00}`, i)), Status: http.StatusOK,
				Header: http.Header{"Content-Type": {"application/json"}, HeaderReplayed: {"true"}, "Date": {"x"}},
				Body:   []byte(`{"status":"RESOLVED"}`), Duration: time.Millisecond}
			if i == 0 {
				x.Status, x.Body, x.Err = 0, nil, errors.New("connection refused")
			}
			r.Observe(x)
		}()
	}
	wg.Wait()
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "Authorization") {
		t.Error("the recording holds an Authorization header")
	}
	records, err := ReadRecords(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(records) != n {
		t.Fatalf("%d records, want %d", len(records), n)
	}
	seqs := map[int]bool{}
	failed := 0
	for _, rec := range records {
		seqs[rec.Seq] = true
		if rec.Error != "" {
			failed++
			continue
		}
		if rec.Endpoint != EndpointRefund || rec.Status != http.StatusOK || rec.ResponseBody != `{"status":"RESOLVED"}` ||
			!strings.HasPrefix(rec.RequestBody, `{"guid":"g`) || rec.ResponseHeaders[HeaderReplayed] != "true" ||
			rec.ResponseHeaders["Date"] != "" || rec.RequestHeaders[HeaderRequestID] == "" {
			t.Errorf("record %+v does not hold the exchange", rec)
		}
	}
	if len(seqs) != n || failed != 1 {
		t.Errorf("%d distinct seqs and %d failed records, want %d and 1", len(seqs), failed, n)
	}
}

func TestReadRecordsRefusesGarbage(t *testing.T) {
	_, err := ReadRecords(strings.NewReader("{\"seq\":1}\n\nnot json\n"))
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("ReadRecords error = %v, want one naming line 3", err)
	}
}
