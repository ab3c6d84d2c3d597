package archive

import (
	"bytes"
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// Blobs prepared on other goroutines and added with AddPrepared make the
// same archive, byte for byte, as AddBlob: compressed or not by the same
// rule, each stored once.
func TestPreparedBlobsEqualAddBlob(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	random := make([]byte, 50_000)
	rng.Read(random)
	blobs := [][]byte{
		[]byte(strings.Repeat("a page attached as text ", 2000)),
		random,
		{},
		[]byte("tiny"),
		[]byte(strings.Repeat("a page attached as text ", 2000)), // again
	}
	var direct, prepared bytes.Buffer
	w1, err := NewWriter(&direct, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	w2, err := NewWriter(&prepared, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		b   *PreparedBlob
		err error
	}
	results := make(chan result, len(blobs))
	go func() { // as export does: prepared elsewhere, added in order
		p, err := w2.NewBlobPreparer()
		if err != nil {
			results <- result{err: err}
			return
		}
		for _, b := range blobs {
			pb, err := p.Prepare(bytes.NewReader(b), int64(len(b)))
			results <- result{pb, err}
		}
	}()
	for _, b := range blobs {
		d1, n1, err := w1.AddBlob(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		r := <-results
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.b.Digest != d1 || r.b.Size != n1 {
			t.Fatalf("prepared %s (%d bytes), AddBlob %s (%d)", r.b.Digest, r.b.Size, d1, n1)
		}
		if err := w2.AddPrepared(r.b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w1.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(direct.Bytes(), prepared.Bytes()) {
		t.Fatal("the archives differ")
	}
	if rep := verify(t, prepared.Bytes()); !rep.Intact || rep.Blobs != 4 {
		t.Fatalf("prepared archive: %v, %d blobs", rep.Problems, rep.Blobs)
	}
	p, _ := w2.NewBlobPreparer()
	if _, err := p.Prepare(bytes.NewReader([]byte("short")), 6); err == nil {
		t.Error("a blob shorter than its source said was prepared")
	}
}

// Blobs prepared and added one after another reuse the buffers of those
// before them; the archive is still the one AddBlob writes.
func TestPreparedBuffersReusedInOrder(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	var direct, prepared bytes.Buffer
	w1, err := NewWriter(&direct, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	w2, err := NewWriter(&prepared, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	p, err := w2.NewBlobPreparer()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		b := make([]byte, 100+rng.Intn(40_000))
		if i%2 == 0 {
			rng.Read(b) // stored as it is
		} else {
			copy(b, strings.Repeat(fmt.Sprintf("text %d ", i), len(b)/6)) // compressed
		}
		if _, _, err := w1.AddBlob(bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		pb, err := p.Prepare(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		if err := w2.AddPrepared(pb); err != nil {
			t.Fatal(err)
		}
	}
	if err := w1.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(direct.Bytes(), prepared.Bytes()) {
		t.Fatal("the archives differ")
	}
}
