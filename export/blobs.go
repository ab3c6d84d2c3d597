package export

import (
	"context"
	"fmt"

	"ferry/archive"
	"ferry/embedded"
)

// blobPipe copies an embedded site's blobs on another goroutine. Reading a
// blob out of SQLite, hashing and compressing it is half an export's work,
// and none of it depends on the events read meanwhile; the archive gets
// the blobs in the order the events asked for them. Other sources (Cloud's
// downloads, an XML export's files) copy their blobs in line.
type blobPipe struct {
	in      chan string
	out     chan blobResult // in the order of in
	pending map[string]bool // handed out, not yet added
	quit    chan struct{}   // closed when the export failed: skip the rest
}

type blobResult struct {
	digest string
	blob   *archive.PreparedBlob // nil when too big to prepare, or on err
	err    error
}

// blobsInFlight bounds the prepared blobs held at once: at most
// MaxPrepared bytes each, twice (as read and as stored).
const blobsInFlight = 8

// blobsQueued bounds the digests handed to the pipe and not yet added. The
// events ask for blobs in bursts (a space's attachments come after its
// pages), so the queue must hold a burst for the pipe to work through it
// while the exporter reads on; a digest costs about 100 bytes here.
const blobsQueued = 8192

func newBlobPipe(ctx context.Context, site *embedded.Site, w *archive.Writer) (*blobPipe, error) {
	prep, err := w.NewBlobPreparer()
	if err != nil {
		return nil, err
	}
	p := &blobPipe{in: make(chan string, blobsQueued), out: make(chan blobResult, blobsInFlight), pending: map[string]bool{}, quit: make(chan struct{})}
	go func() {
		defer close(p.out)
		for d := range p.in {
			select {
			case <-p.quit:
				continue
			default:
			}
			p.out <- prepareBlob(ctx, site, prep, d)
		}
	}()
	return p, nil
}

func prepareBlob(ctx context.Context, site *embedded.Site, prep *archive.BlobPreparer, digest string) blobResult {
	r, size, err := site.OpenBlob(ctx, digest)
	if err != nil {
		return blobResult{digest: digest, err: err}
	}
	defer r.Close()
	if size > archive.MaxPrepared {
		return blobResult{digest: digest} // the exporter copies it itself
	}
	b, err := prep.Prepare(r, size)
	return blobResult{digest: digest, blob: b, err: err}
}

// queue hands a blob to the pipe, adding the blobs it has ready first, and
// waiting for the oldest when blobsQueued are out.
func (e *exporter) queue(digest string) error {
	p := e.pipe
	if p.pending[digest] {
		return nil
	}
	for len(p.pending) >= blobsQueued {
		if err := e.addReady(true); err != nil {
			return err
		}
	}
	if err := e.addReady(false); err != nil {
		return err
	}
	p.pending[digest] = true
	p.in <- digest
	return nil
}

// addReady adds the blobs the pipe has ready, or with wait the next one.
func (e *exporter) addReady(wait bool) error {
	for {
		var r blobResult
		if wait {
			r = <-e.pipe.out
			wait = false
		} else {
			select {
			case r = <-e.pipe.out:
			default:
				return nil
			}
		}
		if err := e.addPrepared(r); err != nil {
			return err
		}
	}
}

func (e *exporter) addPrepared(r blobResult) error {
	delete(e.pipe.pending, r.digest)
	switch {
	case r.err != nil:
		return fmt.Errorf("blob %s: %w", r.digest, r.err)
	case r.blob == nil:
		return e.copyBlobInLine(r.digest)
	case r.blob.Digest != r.digest:
		return fmt.Errorf("blob %s hashes to %s: the source is damaged", r.digest, r.blob.Digest)
	}
	if err := e.w.AddPrepared(r.blob); err != nil {
		return fmt.Errorf("blob %s: %w", r.digest, err)
	}
	e.prog.Blobs++
	e.prog.Bytes += r.blob.Size
	return nil
}

// drainBlobs adds every blob handed out, and stops the pipe. After a
// failure (failed, or a blob that cannot be added) the rest are skipped.
func (e *exporter) drainBlobs(failed bool) error {
	if e.pipe == nil {
		return nil
	}
	p := e.pipe
	close(p.in)
	if failed {
		close(p.quit)
	}
	var first error
	for r := range p.out {
		if first != nil || failed {
			continue
		}
		if first = e.addPrepared(r); first != nil {
			close(p.quit)
		}
	}
	e.pipe = nil
	return first
}
