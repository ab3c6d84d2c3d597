package archive

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
)

// Segment pages come out as Parquet's own codec writes them, and
// compressing them after garbage collections allocates no new encoder
// history (Parquet's pooled encoders each allocated 8 MB).
func TestPageEncoderMatchesParquets(t *testing.T) {
	codec := newBoundedZstd()
	var page bytes.Buffer
	for i := range 20000 {
		fmt.Fprintf(&page, `{"id":"%d","title":"Page %d","body":"<p>text %d</p>"}`, i, i%97, i*7)
	}
	for _, src := range [][]byte{page.Bytes(), page.Bytes()[:100], bytes.Repeat([]byte{0}, 1<<20)} {
		got := codec.EncodeLevel(nil, src, segmentLevel)
		want := codec.Codec.EncodeLevel(nil, src, segmentLevel)
		if !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: compressed to %d bytes, Parquet's codec to %d (different bytes)", len(src), len(got), len(want))
		}
		back, err := codec.DecodeWithError(nil, got)
		if err != nil || !bytes.Equal(back, src) {
			t.Fatalf("%d bytes: do not decode back (%v)", len(src), err)
		}
	}
	for range runtime.GOMAXPROCS(0) { // each of its encoders makes its history once
		codec.EncodeLevel(nil, page.Bytes(), segmentLevel)
	}
	n := allocated(func() {
		for range 8 {
			runtime.GC()
			codec.EncodeLevel(nil, page.Bytes(), segmentLevel)
		}
	})
	if n > 4<<20 {
		t.Errorf("8 pages, each after a garbage collection, allocated %d MiB", n>>20)
	}
}
