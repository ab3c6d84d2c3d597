package redact

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestScrubEmails(t *testing.T) {
	r := &redactor{key: []byte("0123456789abcdef"), fields: AllFields}
	in := []byte(`{"body":"<a href=\"mailto:Ada.Lovelace@Example.com\">Ada</a> and grace@example.org","x":"user-1@redacted.invalid"}`)
	out := r.scrubEmails(in)
	var v map[string]string
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("not JSON any more: %s", out)
	}
	if strings.Contains(string(out), "example") || !strings.Contains(string(out), "user-1@redacted.invalid") {
		t.Errorf("scrubbed: %s", out)
	}
	// Case does not change a person's pseudonym; another key does.
	if r.email("ADA.lovelace@example.com") != r.email("Ada.Lovelace@Example.com") {
		t.Error("pseudonyms depend on case")
	}
	other := &redactor{key: []byte("another key, 16+")}
	if other.email("ada@example.com") == r.email("ada@example.com") {
		t.Error("pseudonyms do not depend on the key")
	}
}
