package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var ctx = context.Background()

func testClient(t *testing.T, h http.Handler) (*Client, *[]time.Duration) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, Credentials{Email: "admin@example.com", APIToken: "s3cret-token"})
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	var mu sync.Mutex
	clock := time.Now()
	c.clock = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	c.Sleep = func(_ context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		waits, clock = append(waits, d), clock.Add(d)
		return nil
	}
	return c, &waits
}

// 429 and 503 are retried after Retry-After, in full; other faults after
// a backoff; an absurd wait (9223372036854775807 has been seen) stops the
// request, saying so, rather than blocking for ever.
func TestRetryAfter(t *testing.T) {
	var calls atomic.Int32
	c, waits := testClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "250")
			w.WriteHeader(http.StatusTooManyRequests)
		case 2:
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusServiceUnavailable)
		case 3:
			w.WriteHeader(http.StatusBadGateway)
		case 4:
			w.Header().Set("Retry-After", "9223372036854775807")
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			fmt.Fprint(w, `{"ok":true}`)
		}
	}))
	var out struct{ OK bool }
	err := c.Get(ctx, "/wiki/api/v2/spaces", nil, &out)
	if err == nil || !strings.Contains(err.Error(), "more than --max-wait") {
		t.Fatalf("an absurd Retry-After: %v %+v", err, out)
	}
	if len(*waits) != 3 || (*waits)[0] != 250*time.Second || (*waits)[1] != 2*time.Second || (*waits)[2] > maxBackoff {
		t.Errorf("waits %v, want 250s in full, 2s, then a backoff", *waits)
	}
	if err := c.Get(ctx, "/wiki/api/v2/spaces", nil, &out); err != nil || !out.OK {
		t.Fatalf("%v %+v", err, out)
	}
}

// A POST that failed after the server took it is not sent again; one the
// server refused with 429 is.
func TestPostsAreNotRetriedBlindly(t *testing.T) {
	var calls atomic.Int32
	c, _ := testClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	err := c.Post(ctx, "/wiki/api/v2/pages", map[string]string{"title": "x"}, nil)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 500 || calls.Load() != 2 {
		t.Fatalf("err %v after %d calls", err, calls.Load())
	}
}

// Lists follow _links.next or the Link header, and survive empty pages
// that still have a next link.
func TestListPagination(t *testing.T) {
	c, _ := testClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("cursor") {
		case "":
			fmt.Fprint(w, `{"results":[{"id":"1"},{"id":"2"}],"_links":{"next":"/wiki/api/v2/pages?cursor=b"}}`)
		case "b":
			fmt.Fprint(w, `{"results":[],"_links":{"next":"/wiki/api/v2/pages?cursor=c"}}`)
		case "c":
			w.Header().Set("Link", `</wiki/api/v2/pages?cursor=d>; rel="next"`)
			fmt.Fprint(w, `{"results":[{"id":"3"}]}`)
		case "d":
			fmt.Fprint(w, `{"results":[{"id":"4"}],"_links":{}}`)
		}
	}))
	var ids []string
	err := c.List(ctx, "/wiki/api/v2/pages", nil, func(r json.RawMessage) error {
		var v struct{ ID string }
		json.Unmarshal(r, &v)
		ids = append(ids, v.ID)
		return nil
	})
	if err != nil || strings.Join(ids, ",") != "1,2,3,4" {
		t.Fatalf("%v %v", ids, err)
	}
}

// Errors of both API versions are read, say what to do, and never show
// the token.
func TestErrors(t *testing.T) {
	for _, c := range []struct {
		status int
		body   string
		want   []string
	}{
		{401, `{"errors":[{"status":401,"code":"UNAUTHORIZED","title":"Unauthorized","detail":null}]}`, []string{"401", "UNAUTHORIZED", "expired"}},
		{403, `{"statusCode":403,"message":"Not permitted to use confluence","data":{}}`, []string{"403", "Not permitted", "permission"}},
		{404, ``, []string{"404", "may not see it"}},
		{400, `{"errors":[{"status":400,"code":"INVALID_REQUEST_PARAMETER","title":"Invalid cursor"}]}`, []string{"stale pagination cursor"}},
	} {
		cl, _ := testClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(c.status)
			fmt.Fprint(w, c.body)
		}))
		err := cl.Get(ctx, "/wiki/api/v2/spaces", nil, nil)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%d: %v, want %q", c.status, err, w)
			}
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("the token is in the error: %v", err)
		}
	}
	if s := fmt.Sprint(Credentials{Email: "a@b.c", APIToken: "s3cret-token"}); strings.Contains(s, "s3cret") {
		t.Errorf("credentials print their token: %s", s)
	}
}

// Requests sent at once are bounded by what the server takes: against a
// server that refuses a fourth concurrent request, the client raises its
// bound past one, halves it at each refusal, and every request succeeds
// with few refusals.
func TestConcurrencyAdaptsToTheServer(t *testing.T) {
	var inFlight, peak, refused, served atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		if n > 3 {
			refused.Add(1)
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		time.Sleep(5 * time.Millisecond)
		served.Add(1)
		w.Write([]byte(`{}`))
	})
	c, _ := testClient(t, h)
	c.Sleep = func(_ context.Context, d time.Duration) error { time.Sleep(d); return nil }
	c.Retries = 50
	errs := make(chan error, 400)
	for g := 0; g < 16; g++ {
		go func() {
			for i := 0; i < 25; i++ {
				errs <- c.Get(ctx, "/wiki/api/v2/spaces", nil, nil)
			}
		}()
	}
	for i := 0; i < 400; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	limit, clientPeak := c.InFlight()
	if served.Load() != 400 || clientPeak < 2 || limit > MaxInFlight {
		t.Fatalf("served %d, client peak %d, bound %.1f", served.Load(), clientPeak, limit)
	}
	if r := refused.Load(); r*5 > served.Load() {
		t.Errorf("%d refusals for 400 requests: the bound does not adapt", r)
	}
	t.Logf("bound %.1f, peak in flight %d (server saw %d), %d refusals", limit, clientPeak, peak.Load(), refused.Load())
}
