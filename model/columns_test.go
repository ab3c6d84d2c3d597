package model

import (
	"strings"
	"testing"
)

// countEach is what Mentions counts, marker by marker.
func countEach(body string) int64 {
	n := 0
	for _, m := range MentionMarkers {
		n += strings.Count(body, m)
	}
	return int64(n)
}

func TestMentionsCountsEveryMarker(t *testing.T) {
	for body, want := range map[string]int64{
		``: 0,
		`<ac:link><ri:user ri:account-id="5b10a2844c20165700ede21g"/></ac:link>`:                      1,
		`<ri:user ri:userkey="8a7f"/><ri:user ri:username="jdoe"/><ri:page ri:content-title="Home"/>`: 2,
		`ri:ri:account-id=ri:username=ri:`:                                                            2,
		`ri:account-id`:                                                                               0,
	} {
		if got := Mentions(body); got != want || got != countEach(body) {
			t.Errorf("Mentions(%q) = %d, want %d", body, got, want)
		}
	}
}

func FuzzMentions(f *testing.F) {
	f.Add(`<ri:user ri:account-id="a"/>ri:username=x`)
	f.Fuzz(func(t *testing.T, body string) {
		if got, want := Mentions(body), countEach(body); got != want {
			t.Errorf("Mentions(%q) = %d, counting each marker gives %d", body, got, want)
		}
	})
}
