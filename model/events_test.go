package model

import (
	"bytes"
	"reflect"
	"strings"
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

// An Encoder gives what Encode gives, in a buffer it reuses, and does not
// keep a huge payload's buffer for the calls after it.
func TestEncoderReusesItsBuffer(t *testing.T) {
	e := NewEncoder()
	huge := &Version{ContentID: "7", Body: strings.Repeat("<p>x</p>", 300000)}
	for _, v := range []*Version{{ContentID: "1", Title: "a <b>"}, huge, {ContentID: "2", Body: "<p>c</p>"}} {
		want, err := Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("Encoder.Encode =\n%.200s\nEncode =\n%.200s", got, want)
		}
	}
	if c := e.buf.Cap(); c > maxKeptBuffer {
		t.Errorf("after a %d-byte body and a small one, the buffer holds %d bytes", len(huge.Body), c)
	}
}
