package model

import "testing"

func TestSelections(t *testing.T) {
	body := `<p>one <em>two</em> one &amp; <ac:inline-comment-marker ac:ref="m1">one</ac:inline-comment-marker> three</p>`
	if got := BodyText(body); got != "one two one & one three" {
		t.Errorf("text %q", got)
	}
	if n := Occurrences(body, "one"); n != 3 {
		t.Errorf("occurrences of one: %d", n)
	}
	if i := MatchIndex(body, "m1", "one"); i != 2 {
		t.Errorf("the marked one is occurrence %d, want 2 (zero-based)", i)
	}
	if i := MatchIndex(body, "m2", "one"); i != 0 {
		t.Errorf("a marker not in the body: %d", i)
	}
}
