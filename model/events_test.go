package model

import (
	"bytes"
	"reflect"
	"testing"
	"time"
)

// A reviewer reading a payload in inspect sees the page's markup as it
// is, and the payload decodes back to what was encoded.
func TestEncodeKeepsMarkupReadable(t *testing.T) {
	v := &Version{ContentID: "42", Number: 3, Title: "Q&A <draft>", Body: `<p>R&amp;D &lt; 5 "quoted"</p><ac:image/>`,
		At: time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC), Message: "line\nbreak"}
	b, err := Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"content_id":"42","number":3,"title":"Q&A <draft>","body":"<p>R&amp;D &lt; 5 \"quoted\"</p><ac:image/>","at":"2024-05-01T09:00:00Z","message":"line\nbreak"}`
	if string(b) != want {
		t.Errorf("Encode =\n%s\nwant\n%s", b, want)
	}
	if bytes.HasSuffix(b, []byte("\n")) {
		t.Error("Encode ends with a newline")
	}
	back, err := Decode(PageVersion, b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, v) {
		t.Errorf("decoded %+v, want %+v", back, v)
	}
}
