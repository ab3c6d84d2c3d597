package cloud

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// FuzzAnswers serves arbitrary answers (status, body, Link header) to the
// client's reads: it must return an error or a result, never panic or loop,
// and never show the token.
func FuzzAnswers(f *testing.F) {
	f.Add(200, []byte(`{"results":[{"id":"1"}],"_links":{"next":"/wiki/api/v2/spaces?cursor=x"}}`), `</wiki/api/v2/spaces?cursor=y>; rel="next"`)
	f.Add(404, []byte(`{"errors":[{"status":404,"code":"NOT_FOUND","title":"Not Found","detail":null}]}`), "")
	f.Add(400, []byte(`{"statusCode":400,"message":"bad","data":{}}`), "")
	f.Add(429, []byte(``), "")
	f.Add(200, []byte(`{"results":[],"_links":{"next":"?cursor=again"}}`), "")
	f.Fuzz(func(t *testing.T, status int, body []byte, link string) {
		if status < 200 || status > 599 {
			status = 200 + status%400
			if status < 200 {
				status += 400
			}
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if link != "" {
				w.Header().Set("Link", link)
			}
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(status)
			w.Write(body)
		}))
		defer srv.Close()
		c, err := New(srv.URL, Credentials{Email: "a@b.c", APIToken: "fuzz-secret"})
		if err != nil {
			t.Fatal(err)
		}
		c.Retries, c.MaxWait = 1, time.Millisecond
		c.Sleep = func(context.Context, time.Duration) error { return nil }
		ctx, cancel := context.WithTimeout(context.Background(), time.Second) // keeps every input short: a fuzz run ends cleanly
		defer cancel()
		var out map[string]any
		if err := c.Get(ctx, "/wiki/api/v2/spaces", nil, &out); err != nil && containsToken(err.Error()) {
			t.Fatalf("the token shows in %v", err)
		}
		n := 0
		err = c.List(ctx, "/wiki/api/v2/spaces", nil, func(json.RawMessage) error {
			if n++; n > 10000 {
				t.Fatal("a list that never ends")
			}
			return nil
		})
		if err != nil && containsToken(err.Error()) {
			t.Fatalf("the token shows in %v", err)
		}
		if ctx.Err() != nil {
			t.Fatal("a list that never ends (timed out)")
		}
	})
}

func containsToken(s string) bool {
	for i := 0; i+len("fuzz-secret") <= len(s); i++ {
		if s[i:i+len("fuzz-secret")] == "fuzz-secret" {
			return true
		}
	}
	return false
}
