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
	w1, w2, closeBoth := directAndPrepared(t)
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
	prepared := closeBoth()
	if rep := verify(t, prepared); !rep.Intact || rep.Blobs != 4 {
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
	w1, w2, closeBoth := directAndPrepared(t)
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
	closeBoth()
}

// directAndPrepared returns a writer for AddBlob and one for prepared
// blobs, and closeBoth, which closes them and fails the test unless their
// archives are the same bytes; it returns the prepared one's.
func directAndPrepared(t *testing.T) (direct, prepared *Writer, closeBoth func() []byte) {
	t.Helper()
	var b1, b2 bytes.Buffer
	w1, err := NewWriter(&b1, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	w2, err := NewWriter(&b2, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	return w1, w2, func() []byte {
		t.Helper()
		if err := w1.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w2.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b1.Bytes(), b2.Bytes()) {
			t.Fatal("the archives differ")
		}
		return b2.Bytes()
	}
}
