package confluencexml

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"ferry/embedded"
)

// endless yields n bytes of c without holding them.
type endless struct {
	c byte
	n int64
}

func (e *endless) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, io.EOF
	}
	k := int(min(int64(len(p)), e.n))
	for i := range p[:k] {
		p[i] = e.c
	}
	e.n -= int64(k)
	return k, nil
}

// hostileXML is entities.xml with n bytes of c between before and after.
func hostileXML(before string, c byte, n int64, after string) io.Reader {
	return io.MultiReader(strings.NewReader(`<?xml version="1.0"?><hibernate-generic>`+before), &endless{c, n},
		strings.NewReader(after+`</hibernate-generic>`))
}

func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Every kind of token is stopped at its limit while it is read, not after
// encoding/xml has buffered it whole, and the message does not echo it.
// (Before the fix a 1 GiB attribute in a 1 MB zip peaked at 5.3 GB, and a
// 1 GiB comment or run of whitespace was accepted after buffering it.)
func TestXMLTokensAreBoundedAsTheyAreRead(t *testing.T) {
	defer func(m, x int) { maxMarkup, maxText = m, x }(maxMarkup, maxText)
	maxMarkup, maxText = 4<<10, 1<<20
	const n = 64 << 20 // far past either limit
	cases := map[string]io.Reader{
		"attribute":  hostileXML(`<object class="`, 'a', n, `"><id name="id">1</id></object>`),
		"tag name":   hostileXML(`<object`, 'a', n, `/>`),
		"comment":    hostileXML(`<!--`, 'a', n, `-->`),
		"whitespace": hostileXML(``, ' ', n, ``),
		"PI":         hostileXML(`<?x `, 'a', n, `?>`),
		"CDATA":      hostileXML(`<object class="Page"><id name="id">1</id><property name="title"><![CDATA[`, 'a', n, `]]></property></object>`),
		"text":       hostileXML(`<object class="Page"><id name="id">1</id><property name="title">`, 'a', n, `</property></object>`),
		"directive":  strings.NewReader(`<?xml version="1.0"?><!DOCTYPE ` + strings.Repeat("a", 1<<20) + `><hibernate-generic/>`),
	}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			var err error
			alloc := allocated(func() { err = Parse(r, func(*Object) error { return nil }) })
			if !errors.Is(err, ErrTokenTooLarge) {
				t.Fatalf("err = %v, want ErrTokenTooLarge", err)
			}
			if len(err.Error()) > 600 {
				t.Errorf("the message is %d bytes long: %.200s...", len(err.Error()), err)
			}
			if alloc > 16<<20 {
				t.Errorf("parsing allocated %d MiB", alloc>>20)
			}
		})
	}
	// Tokens within the limits still parse.
	ok := `<hibernate-generic><!-- ` + strings.Repeat("c", 3000) + ` --><object class="Page" package="` + strings.Repeat("p", 3000) +
		`"><id name="id">1</id><property name="title"><![CDATA[` + strings.Repeat("t", 1000000) + `]]></property></object></hibernate-generic>`
	got := 0
	if err := Parse(strings.NewReader(ok), func(o *Object) error { got = len(o.Props["title"]); return nil }); err != nil || got != 1000000 {
		t.Fatalf("tokens within the limits: %v (title of %d bytes)", err, got)
	}
}

// The same through a zip export: a small zip holding a huge attribute is
// refused with bounded memory.
func TestZipWithHugeAttributeIsRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "export.zip")
	f, _ := os.Create(path)
	zw := zip.NewWriter(f)
	w, _ := zw.Create("entities.xml")
	io.Copy(w, hostileXML(`<object class="`, 'a', 256<<20, `"/>`))
	zw.Close()
	f.Close()
	st, _ := os.Stat(path)
	t.Logf("zip of %d KB", st.Size()>>10)
	site, err := embedded.Create(filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	alloc := allocated(func() { _, err = Load(ctx, path, site, dir) })
	if !errors.Is(err, ErrTokenTooLarge) || bytes.Contains([]byte(err.Error()), bytes.Repeat([]byte("a"), 400)) {
		t.Fatalf("err = %.300v", err)
	}
	if alloc > 64<<20 {
		t.Errorf("loading allocated %d MiB", alloc>>20)
	}
}
