package archive

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// The benchmarks compare ferry with zstd alone on the same bytes, timing
// both in alternation within one run so that a noisy, shared machine slows
// both alike. Each reports MB/s for both and ferry's speed as a fraction of
// zstd's ("ratio"; the goal is at least 0.5).

var words = strings.Fields(`the of and to in is that for it as was with be by on not he this are or his
from at which but have an they you were her she there been one all we their has would when if so no
page space confluence attachment comment label restriction permission version draft archive export import
meeting notes design review roadmap quarterly release incident postmortem onboarding checklist`)

// benchEvents makes n events shaped like ferry's envelope: a JSON payload
// with a title and a 20 to 120 word body.
func benchEvents(n int, seed int64) []Event {
	rng := rand.New(rand.NewSource(seed))
	types := []string{"page.version", "page.version", "page.version", "comment.version", "blogpost.version", "attachment.version", "label.added", "user.created"}
	at := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
	events := make([]Event, n)
	var body strings.Builder
	for i := range events {
		body.Reset()
		for w := 20 + rng.Intn(101); w > 0; w-- {
			body.WriteString(words[rng.Intn(len(words))])
			body.WriteByte(' ')
		}
		t := types[rng.Intn(len(types))]
		payload, _ := json.Marshal(map[string]any{"title": fmt.Sprintf("%s %d", words[rng.Intn(len(words))], rng.Intn(50000)), "body": body.String(), "version": 1 + rng.Intn(20)})
		at = at.Add(time.Duration(rng.Intn(600)) * time.Second)
		events[i] = Event{
			Seq: int64(i + 1), Type: t, Entity: t[:strings.IndexByte(t, '.')], ID: strconv.Itoa(rng.Intn(n/5 + 1)),
			Parent: strconv.Itoa(rng.Intn(1000)), Space: fmt.Sprintf("SPACE%d", rng.Intn(40)), At: at,
			Actor: fmt.Sprintf("5b10a2844c20165700ede%03d", rng.Intn(500)), Payload: payload,
		}
	}
	return events
}

// ndjson renders events as one JSON object per line: the "same bytes" that
// zstd alone compresses.
func ndjson(events []Event) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range events {
		ev := &events[i]
		enc.Encode(map[string]any{"seq": ev.Seq, "type": ev.Type, "entity": ev.Entity, "id": ev.ID, "parent": ev.Parent,
			"space": ev.Space, "at": ev.At, "actor": ev.Actor, "payload": json.RawMessage(ev.Payload)})
	}
	return buf.Bytes()
}

// benchBlobs makes attachment-like contents: text documents that compress
// well and media that does not, from 4 KiB to 4 MiB, some repeated.
func benchBlobs(total int, seed int64) [][]byte {
	rng := rand.New(rand.NewSource(seed))
	var blobs [][]byte
	for size := 0; size < total; {
		n := 4<<10 + rng.Intn(4<<20)
		var b []byte
		switch rng.Intn(10) {
		case 0, 1, 2, 3: // a document
			var sb strings.Builder
			for sb.Len() < n {
				sb.WriteString(words[rng.Intn(len(words))])
				sb.WriteByte(' ')
			}
			b = []byte(sb.String())
		case 4: // a repeated attachment
			if len(blobs) > 0 {
				b = blobs[rng.Intn(len(blobs))]
				break
			}
			fallthrough
		default: // an image: incompressible
			b = make([]byte, n)
			rng.Read(b)
		}
		blobs = append(blobs, b)
		size += len(b)
	}
	return blobs
}

func zstdEncoder(tb testing.TB) *zstd.Encoder {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	if err != nil {
		tb.Fatal(err)
	}
	return enc
}

// compare runs baseline and ferry alternately b.N times over size bytes
// and reports both speeds and their ratio.
func compare(b *testing.B, size int64, baseline, ferry func()) {
	var tBase, tFerry time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		baseline()
		tBase += time.Since(start)
		start = time.Now()
		ferry()
		tFerry += time.Since(start)
	}
	mb := float64(size) * float64(b.N) / 1e6
	b.ReportMetric(mb/tBase.Seconds(), "zstd-MB/s")
	b.ReportMetric(mb/tFerry.Seconds(), "ferry-MB/s")
	b.ReportMetric(tBase.Seconds()/tFerry.Seconds(), "ratio")
	b.ReportMetric(0, "ns/op")
}

const benchEventCount = 100_000

func BenchmarkWriteEvents(b *testing.B) {
	events := benchEvents(benchEventCount, 1)
	raw := ndjson(events)
	enc := zstdEncoder(b)
	compare(b, int64(len(raw)),
		func() {
			enc.Reset(io.Discard)
			enc.Write(raw)
			enc.Close()
		},
		func() {
			w, _ := NewWriter(io.Discard, testHeader())
			for i := range events {
				w.WriteEvent(&events[i])
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		})
}

func BenchmarkReadEvents(b *testing.B) {
	events := benchEvents(benchEventCount, 2)
	raw := ndjson(events)
	enc := zstdEncoder(b)
	compressed := enc.EncodeAll(raw, nil)
	var archive bytes.Buffer
	w, _ := NewWriter(&archive, testHeader())
	for i := range events {
		w.WriteEvent(&events[i])
	}
	w.Close()
	dec, _ := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	b.Logf("NDJSON %d bytes, zstd %d bytes, archive %d bytes", len(raw), len(compressed), archive.Len())
	compare(b, int64(len(raw)),
		func() {
			dec.Reset(bytes.NewReader(compressed))
			io.Copy(io.Discard, dec)
		},
		func() {
			f, err := NewFile(bytes.NewReader(archive.Bytes()), int64(archive.Len()))
			if err != nil {
				b.Fatal(err)
			}
			it := f.Events()
			n := 0
			for it.Next() {
				n++
			}
			if it.Err() != nil || n != len(events) {
				b.Fatal(it.Err(), n)
			}
			it.Close()
			f.Close()
		})
}

const benchBlobBytes = 256 << 20

func BenchmarkWriteBlobs(b *testing.B) {
	blobs := benchBlobs(benchBlobBytes, 3)
	enc := zstdEncoder(b)
	var zbuf []byte
	compare(b, benchBlobBytes,
		func() {
			for _, blob := range blobs {
				zbuf = enc.EncodeAll(blob, zbuf[:0])
			}
		},
		func() {
			w, _ := NewWriter(io.Discard, testHeader())
			for _, blob := range blobs {
				if _, _, err := w.AddBlob(bytes.NewReader(blob)); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		})
}

// BenchmarkReadBlobs reads attachment-like blobs: a realistic mix, then
// text documents only and media (incompressible) only. Every read checks
// the content's SHA-256, which on this kind of machine runs at about 1.3
// GB/s, while zstd "decompresses" incompressible data at memory speed.
func BenchmarkReadBlobs(b *testing.B) {
	for _, kind := range []struct {
		name string
		keep func([]byte) bool
	}{
		{"mix", func([]byte) bool { return true }},
		{"text", func(c []byte) bool { return bytes.IndexByte(c[:min(len(c), 64)], ' ') >= 0 }},
		{"media", func(c []byte) bool { return bytes.IndexByte(c[:min(len(c), 64)], ' ') < 0 }},
	} {
		b.Run(kind.name, func(b *testing.B) {
			var blobs [][]byte
			var total int64
			for _, c := range benchBlobs(benchBlobBytes, 4) {
				if kind.keep(c) {
					blobs = append(blobs, c)
					total += int64(len(c))
				}
			}
			readBlobs(b, blobs, total)
		})
	}
}

func readBlobs(b *testing.B, blobs [][]byte, total int64) {
	enc := zstdEncoder(b)
	var compressed [][]byte
	var archive bytes.Buffer
	w, _ := NewWriter(&archive, testHeader())
	var digests []string
	for _, blob := range blobs {
		compressed = append(compressed, enc.EncodeAll(blob, nil))
		d, _, _ := w.AddBlob(bytes.NewReader(blob))
		digests = append(digests, d)
	}
	w.Close()
	dec, _ := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	var out []byte
	compare(b, total,
		func() {
			for _, c := range compressed {
				out, _ = dec.DecodeAll(c, out[:0])
			}
		},
		func() {
			f, err := NewFile(bytes.NewReader(archive.Bytes()), int64(archive.Len()))
			if err != nil {
				b.Fatal(err)
			}
			for _, d := range digests {
				r, _ := f.OpenBlob(d)
				if _, err := io.Copy(io.Discard, r); err != nil {
					b.Fatal(err)
				}
				r.Close()
			}
			f.Close()
		})
}

// BenchmarkWritePeakMemory writes an archive of FERRY_BENCH_GB gigabytes
// (default 2) of events and attachments to a file and reports the
// process's peak resident memory. The input is generated as it is written,
// so that the peak is the writer's, not the test data's. Run it alone
// (make bench does) so that no earlier benchmark set the peak.
func BenchmarkWritePeakMemory(b *testing.B) {
	gb := 2.0
	if s := os.Getenv("FERRY_BENCH_GB"); s != "" {
		gb, _ = strconv.ParseFloat(s, 64)
	}
	total := int64(gb * (1 << 30))
	dir := b.TempDir()
	// As the ferry command sets it (cmd/ferry/main.go).
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(SoftMemoryLimit))
	for i := 0; i < b.N; i++ {
		w, err := Create(dir+"/big.ferry", testHeader())
		if err != nil {
			b.Fatal(err)
		}
		rng := rand.New(rand.NewSource(int64(i)))
		// One large attachment, half text and half noise: spooled through
		// temporary files, never held in memory.
		big := io.MultiReader(io.LimitReader(&textReader{rng: rng}, 150<<20), io.LimitReader(rng, 150<<20))
		if _, _, err := w.AddBlob(big); err != nil {
			b.Fatal(err)
		}
		written := int64(300 << 20)
		buf := make([]byte, 4<<20)
		var seq int64
		for written < total {
			for _, ev := range benchEvents(20_000, seq) {
				seq++
				ev.Seq = seq
				if err := w.WriteEvent(&ev); err != nil {
					b.Fatal(err)
				}
				written += int64(len(ev.Payload)) + 100
			}
			for k := 0; k < 16; k++ {
				n := 64<<10 + rng.Intn(len(buf)-64<<10)
				if k%2 == 0 {
					rng.Read(buf[:n])
				} else {
					io.ReadFull(&textReader{rng: rng}, buf[:n])
				}
				if _, _, err := w.AddBlob(bytes.NewReader(buf[:n])); err != nil {
					b.Fatal(err)
				}
				written += int64(n)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		st, _ := os.Stat(dir + "/big.ferry")
		b.ReportMetric(float64(written)/(1<<30), "input-GiB")
		b.ReportMetric(float64(st.Size())/(1<<30), "archive-GiB")
		os.Remove(dir + "/big.ferry")
	}
	b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MiB")
}

// textReader produces endless text made of words.
type textReader struct {
	rng *rand.Rand
	buf []byte
}

func (t *textReader) Read(p []byte) (int, error) {
	for len(t.buf) < len(p) {
		t.buf = append(t.buf, words[t.rng.Intn(len(words))]...)
		t.buf = append(t.buf, ' ')
	}
	n := copy(p, t.buf)
	t.buf = t.buf[:copy(t.buf, t.buf[n:])]
	return n, nil
}

// peakRSS reads the process's peak resident set size (VmHWM) in bytes.
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return -1
}

// BenchmarkVerifyArchive verifies the archive FERRY_BENCH_ARCHIVE (make
// bench's site archives) as `ferry verify` does, against SHA-256 alone over
// the same file; it is skipped without one. Use it with -cpuprofile to see
// where verify's time goes.
func BenchmarkVerifyArchive(b *testing.B) {
	path := os.Getenv("FERRY_BENCH_ARCHIVE")
	if path == "" {
		b.Skip("FERRY_BENCH_ARCHIVE names no archive to verify")
	}
	for i := 0; i < b.N; i++ {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		rep := Verify(bufio.NewReaderSize(f, 1<<20))
		f.Close()
		if !rep.Intact {
			b.Fatalf("%s: %v", path, rep.Problems)
		}
	}
}
