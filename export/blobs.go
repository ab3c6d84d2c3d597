package export

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"ferry/archive"
	"ferry/embedded"
)

// blobPipe copies an embedded site's blobs on other goroutines. Reading a
// blob out of SQLite, hashing and compressing it is half an export's work,
// and none of it depends on the events read meanwhile. The archive gets
// each blob when it is ready, not in the order the events asked for them
// (blobs may stand anywhere among the members, spec §3): waiting for the
// oldest left the other workers idle behind a big blob. Other sources
// (Cloud's downloads, an XML export's files) copy their blobs in line.
type blobPipe struct {
	jobs    chan string     // digests to prepare
	results chan blobResult // of jobs handed out, as each is prepared
	pending map[string]bool // digests handed out whose results are not yet taken
	slots   chan struct{}   // a worker holds one from taking a job until its result is taken
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

// blobWorkers prepare blobs side by side: with one, the last space's
// attachments kept one core busy and the other idle at the end.
var blobWorkers = min(runtime.GOMAXPROCS(0), 4)

func newBlobPipe(ctx context.Context, site *embedded.Site, w *archive.Writer) (*blobPipe, error) {
	p := &blobPipe{jobs: make(chan string, blobsQueued), results: make(chan blobResult, blobsInFlight),
		pending: map[string]bool{}, slots: make(chan struct{}, blobsInFlight), quit: make(chan struct{})}
	for range blobWorkers {
		prep, err := w.NewBlobPreparer()
		if err != nil {
			return nil, err
		}
		go p.work(ctx, site, prep)
	}
	return p, nil
}

// work prepares jobs until the pipe closes. It takes a slot before a job,
// so results never wait for room: at most blobsInFlight are out of the
// workers and not yet taken.
func (p *blobPipe) work(ctx context.Context, site *embedded.Site, prep *archive.BlobPreparer) {
	for {
		p.slots <- struct{}{}
		digest, ok := <-p.jobs
		if !ok {
			<-p.slots
			return
		}
		select {
		case <-p.quit:
			p.results <- blobResult{digest: digest, err: errSkipped}
		default:
			p.results <- prepareBlob(ctx, site, prep, digest)
		}
	}
}

var errSkipped = errors.New("skipped: the export failed")

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

// queue hands a blob to the pipe, waiting for one to be ready when
// blobsQueued are out. (emit adds the blobs the pipe has ready before
// every event.)
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
	p.pending[digest] = true
	p.jobs <- digest
	return nil
}

// next takes a prepared blob, waiting for one with wait.
func (p *blobPipe) next(wait bool) (blobResult, bool) {
	if len(p.pending) == 0 {
		return blobResult{}, false
	}
	var r blobResult
	if wait {
		r = <-p.results
	} else {
		select {
		case r = <-p.results:
		default:
			return blobResult{}, false
		}
	}
	delete(p.pending, r.digest)
	<-p.slots
	return r, true
}

// addReady adds the blobs the pipe has ready, or with wait at least one.
func (e *exporter) addReady(wait bool) error {
	for {
		r, ok := e.pipe.next(wait)
		if !ok {
			return nil
		}
		wait = false
		if err := e.addPrepared(r); err != nil {
			return err
		}
	}
}

func (e *exporter) addPrepared(r blobResult) error {
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
	p := e.pipe
	if p == nil {
		return nil
	}
	close(p.jobs)
	if failed {
		close(p.quit)
	}
	var first error
	for {
		r, ok := p.next(true)
		if !ok {
			break
		}
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
