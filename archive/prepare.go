package archive

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// A blob is mostly work that needs no Writer: hashing its content and
// compressing it. A BlobPreparer does that work on another goroutine, so a
// producer can read its next events meanwhile; Writer.AddPrepared then
// adds the result as AddBlob would have, in the producer's order. Blobs of
// up to MaxPrepared bytes are prepared, in memory; bigger ones go through
// AddBlob, which spools them.
type BlobPreparer struct {
	enc *zstd.Encoder
	buf bytes.Buffer
}

// MaxPrepared is the largest blob a BlobPreparer holds in memory.
const MaxPrepared = 4 << 20

// PreparedBlob is a blob ready to be added.
type PreparedBlob struct {
	Digest string // hex SHA-256 of the content
	Size   int64  // of the content
	key    [32]byte
	entry  MemberEntry
	stored []byte
}

// NewBlobPreparer returns a preparer that compresses as w does. Each
// goroutine needs its own.
func (w *Writer) NewBlobPreparer() (*BlobPreparer, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(w.level), zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(blobWindow))
	if err != nil {
		return nil, err
	}
	return &BlobPreparer{enc: enc}, nil
}

// Prepare reads a blob of size bytes from r (at most MaxPrepared), hashes
// it and compresses it when that makes it smaller, exactly as AddBlob
// would.
func (p *BlobPreparer) Prepare(r io.Reader, size int64) (*PreparedBlob, error) {
	if size > MaxPrepared || size < 0 {
		return nil, fmt.Errorf("archive: a blob of %d bytes is prepared by AddBlob", size)
	}
	p.buf.Reset()
	// MinRead more than the blob: ReadFrom wants that much room to see
	// the end, and would otherwise copy the whole blob to a buffer twice
	// its size.
	p.buf.Grow(int(size) + bytes.MinRead)
	n, err := io.Copy(&p.buf, io.LimitReader(r, MaxPrepared+1))
	if err != nil {
		return nil, fmt.Errorf("archive: read blob: %w", err)
	}
	if n != size {
		return nil, fmt.Errorf("archive: read blob: %d bytes, the source said %d", n, size)
	}
	raw := p.buf.Bytes()
	b := &PreparedBlob{Size: n, key: sha256.Sum256(raw)}
	b.Digest = hex.EncodeToString(b.key[:])
	b.entry.ContentSize = &b.Size
	if z := p.enc.EncodeAll(raw, storedBuf(len(raw))); len(z) < len(raw) {
		sum := sha256.Sum256(z)
		b.entry.Name, b.entry.Size, b.entry.SHA256, b.stored = blobName(b.Digest, true), int64(len(z)), hexSum(sum[:]), z
	} else {
		b.entry.Name, b.entry.Size, b.entry.SHA256, b.stored = blobName(b.Digest, false), n, b.Digest, append(z[:0], raw...)
	}
	return b, nil
}

// storedBufs holds the buffers of prepared blobs that AddPrepared has
// written, for the next ones: export prepares every blob of a site, and a
// new buffer for each was 12% of its allocations at 40,000 pages.
var storedBufs sync.Pool // of *[]byte

// storedBuf returns an empty buffer of at least n bytes' capacity: room for
// the blob as it is, for when compressing does not make it smaller.
func storedBuf(n int) []byte {
	if p, ok := storedBufs.Get().(*[]byte); ok && cap(*p) >= n {
		return (*p)[:0]
	}
	return make([]byte, 0, n)
}

// release gives b's buffer back once it is written.
func (b *PreparedBlob) release() {
	if b.stored != nil {
		buf := b.stored[:0]
		b.stored = nil
		storedBufs.Put(&buf)
	}
}

// AddPrepared adds a prepared blob once, however often it is added.
func (w *Writer) AddPrepared(b *PreparedBlob) error {
	if w.err != nil {
		return w.err
	}
	defer b.release()
	if _, ok := w.blobs[b.key]; ok {
		return nil
	}
	if err := w.writeMember(b.entry, bytes.NewReader(b.stored)); err != nil {
		return w.fail(err)
	}
	w.blobs[b.key] = struct{}{}
	w.blobStats.Count++
	w.blobStats.ContentBytes += b.Size
	return nil
}
