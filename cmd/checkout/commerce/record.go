package commerce

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Record is one Commerce → gateway exchange as a JSON line: what QA
// replays. Bodies are kept as the exact text that went over the wire; the
// Authorization header is never written.
type Record struct {
	Seq             int               `json:"seq"`
	Time            string            `json:"time"`
	Method          string            `json:"method"`
	Endpoint        string            `json:"endpoint"`
	RequestHeaders  map[string]string `json:"requestHeaders"`
	RequestBody     string            `json:"requestBody"`
	Status          int               `json:"status"`
	ResponseHeaders map[string]string `json:"responseHeaders,omitempty"`
	ResponseBody    string            `json:"responseBody"`
	DurationMS      float64           `json:"durationMs"`
	Error           string            `json:"error,omitempty"`
}

// recordedHeaders are the response headers worth keeping: those of the
// contract, including the request id echoed (the one the request sent,
// which a replay sends again); the rest (Date, Content-Length) change on
// every call.
var recordedHeaders = []string{"Content-Type", HeaderRequestID, HeaderReplayed, "Idempotency-Expires", "Retry-After"}

// NewRecord describes an exchange.
func NewRecord(seq int, x *Exchange) Record {
	r := Record{
		Seq:      seq,
		Time:     x.Start.UTC().Format(time.RFC3339Nano),
		Method:   http.MethodPost,
		Endpoint: x.Endpoint,
		RequestHeaders: map[string]string{
			"Content-Type":   "application/json",
			HeaderRequestID:  x.RequestID,
			HeaderAPIVersion: APIVersion,
		},
		RequestBody:  string(x.Request),
		Status:       x.Status,
		ResponseBody: string(x.Body),
		DurationMS:   float64(x.Duration.Microseconds()) / 1000,
	}
	for _, h := range recordedHeaders {
		if v := x.Header.Get(h); v != "" {
			if r.ResponseHeaders == nil {
				r.ResponseHeaders = map[string]string{}
			}
			r.ResponseHeaders[h] = v
		}
	}
	if x.Err != nil {
		r.Error = x.Err.Error()
	}
	return r
}

// Recorder writes exchanges as JSON lines, one per call, in the order
// they end. It is safe for concurrent use.
type Recorder struct {
	mu  sync.Mutex
	w   *bufio.Writer
	seq int
	err error
}

// NewRecorder writes to w; call Flush at the end.
func NewRecorder(w io.Writer) *Recorder { return &Recorder{w: bufio.NewWriter(w)} }

// Observe is a Gateway.Observe hook.
func (r *Recorder) Observe(x *Exchange) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return
	}
	r.seq++
	b, err := json.Marshal(NewRecord(r.seq, x))
	if err == nil {
		b = append(b, '\n')
		_, err = r.w.Write(b)
	}
	r.err = err
}

// Flush writes what is buffered and reports the first error.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = r.w.Flush()
	}
	if r.err != nil {
		return fmt.Errorf("record: %w", r.err)
	}
	return nil
}

// ReadRecords reads a file that a Recorder wrote.
func ReadRecords(rd io.Reader) ([]Record, error) {
	var out []Record
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}
