package export

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"ferry/archive"
	"ferry/internal/rss"
	"ferry/model"
)

// Options control an export.
type Options struct {
	// Since names a previous archive of the same source: only what changed
	// after it is written, and the new archive names it as its parent.
	Since string
	// Spaces limits the export to these space keys and whom they reference;
	// nil exports every space. An incremental export keeps its parent's.
	Spaces   []string
	Producer archive.Producer
	// Archive holds further writer options: a signer, recipients.
	Archive []archive.Option
	// Progress, if set, is called now and then with the counts so far.
	Progress func(*Progress)
	// Header fields for reproducible tests; zero values mean a new id, now.
	ArchiveID string
	Created   time.Time
}

// Progress is how far an export has come.
type Progress struct {
	Events   int64
	Estimate int64            // events expected, 0 if unknown
	ByKind   map[string]int64 // events per entity kind
	Blobs    int64
	Bytes    int64 // blob bytes read
}

// Summary is what an export wrote.
type Summary struct {
	Archive   string           `json:"archive"`
	ArchiveID string           `json:"archive_id"`
	ParentID  string           `json:"parent_id,omitempty"`
	Spaces    []string         `json:"spaces,omitempty"`
	Events    int64            `json:"events"`
	ByKind    map[string]int64 `json:"events_by_kind"`
	FirstSeq  int64            `json:"first_seq"`
	LastSeq   int64            `json:"last_seq"`
	Blobs     int64            `json:"blobs"`
	BlobBytes int64            `json:"blob_bytes"`
	Bytes     int64            `json:"archive_bytes"`
	Digest    string           `json:"events_digest"`
	Seconds   float64          `json:"seconds"`
	PeakRSS   int64            `json:"peak_rss_bytes,omitempty"` // of the whole process, where the OS tells
	// RateLimitWait is how long the source made the export wait, in all
	// (Confluence Cloud's rate limits).
	RateLimitWait float64 `json:"rate_limit_wait_seconds,omitempty"`
	// Visibility and Limits are the header's: whether the export saw all
	// of the source, and if not, what it could not see.
	Visibility string `json:"visibility"`
	Limits     string `json:"limits,omitempty"`
	// Held counts the objects the source holds and the archive does not
	// (its source.skipped events), per class and reason.
	Held map[string]int64 `json:"held_not_copied,omitempty"`
	// Passes times the passes of a source read in several (an XML export:
	// index, build, then this export), in seconds.
	Passes map[string]float64 `json:"seconds_per_pass,omitempty"`
}

// watermark is what an archive's manifest records for the next
// incremental export: opaque to archive readers, meaningful here.
type watermark struct {
	SiteID  string   `json:"site_id"`
	Source  string   `json:"source"` // the source's own watermark
	LastSeq int64    `json:"last_seq"`
	Spaces  []string `json:"spaces,omitempty"`
}

// Run exports src to a new archive at out.
func Run(ctx context.Context, src Source, out string, o Options) (*Summary, error) {
	start := time.Now()
	info := src.Describe()
	since, seq, parentID, err := resume(o.Since, info, &o)
	if err != nil {
		return nil, err
	}
	hdr := archive.Header{ArchiveID: o.ArchiveID, ParentID: parentID, Producer: o.Producer, Created: o.Created,
		Source: archive.Source{Kind: info.Kind, Location: info.Location, SiteID: info.SiteID, Visibility: info.Visibility, Limits: info.Limits}}
	w, err := archive.Create(out, hdr, append([]archive.Option{archive.WithColumns(Columns()...)}, o.Archive...)...)
	if err != nil {
		return nil, err
	}
	defer w.Abort() // removes the partial archive unless Close succeeded
	e := &exporter{ctx: ctx, src: src, w: w, seq: seq, progress: o.Progress, prog: Progress{ByKind: map[string]int64{}}, payloads: model.NewEncoder()}
	if est, ok := src.(Estimator); ok && o.Progress != nil {
		e.prog.Estimate, _ = est.Estimate(ctx, since)
	}
	_, recorder := src.(Recorder)
	if recorder && o.Since != "" {
		prev, err := archive.Open(o.Since)
		if err != nil {
			return nil, fmt.Errorf("--since %s: %w", o.Since, err)
		}
		defer prev.Close()
		src.(Recorder).UsePrevious(func(digest string) (io.ReadCloser, error) {
			if prev.Header().Encryption != nil {
				return nil, fmt.Errorf("--since %s is encrypted: an increment needs to read its record of the site; export in full", o.Since)
			}
			return prev.OpenBlob(digest)
		})
	}
	emit := e.emit
	var h *handoff
	if es, ok := src.(*EmbeddedSource); ok {
		if e.pipe, err = newBlobPipe(ctx, es.Site, w); err != nil {
			return nil, err
		}
		// The embedded site builds a new Change, payload and all, for
		// every event, so another goroutine can encode it meanwhile.
		h = newHandoff(ctx, e.emit)
		emit = h.emit
	}
	mark, err := src.Changes(ctx, since, o.Spaces, emit)
	if h != nil {
		if herr := h.finish(err != nil); err == nil {
			err = herr
		}
	}
	if err == nil {
		w.EndEvents() // the last segment is finished while the blobs drain
	}
	if derr := e.drainBlobs(err != nil); err == nil {
		err = derr
	}
	if err == nil && recorder {
		err = e.copyBlob(mark) // the record the next increment starts from
	}
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	wm, _ := json.Marshal(watermark{SiteID: info.SiteID, Source: mark, LastSeq: e.seq, Spaces: o.Spaces})
	w.SetWatermark(string(wm))
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	m := w.Manifest()
	var size int64
	if st, err := os.Stat(out); err == nil {
		size = st.Size()
	}
	sum := &Summary{
		Archive: out, ArchiveID: w.Header().ArchiveID, ParentID: parentID, Spaces: o.Spaces,
		Events: m.Events.Count, ByKind: e.prog.ByKind, FirstSeq: m.Events.FirstSeq, LastSeq: m.Events.LastSeq,
		Blobs: m.Blobs.Count, BlobBytes: m.Blobs.ContentBytes, Bytes: size, Digest: m.Events.Digest,
		Seconds: time.Since(start).Seconds(), PeakRSS: rss.Peak(), Visibility: info.Visibility, Limits: info.Limits, Held: e.held,
	}
	if w, ok := src.(interface{ Waited() time.Duration }); ok {
		sum.RateLimitWait = w.Waited().Seconds()
	}
	if p, ok := src.(interface{ Passes() map[string]float64 }); ok {
		sum.Passes = map[string]float64{"export": sum.Seconds}
		for pass, s := range p.Passes() {
			sum.Passes[pass] = s
		}
	}
	return sum, nil
}

// resume reads the previous archive of an incremental export: where the
// source left off, the next seq, and the parent's id. It checks that the
// archive came from this source and settles the spaces filter.
func resume(prev string, info SourceInfo, o *Options) (since string, seq int64, parentID string, err error) {
	if prev == "" {
		return "", 0, "", nil
	}
	h, m, err := archive.ReadManifest(prev)
	if err != nil {
		return "", 0, "", fmt.Errorf("--since %s: %w", prev, err)
	}
	var wm watermark
	if err := json.Unmarshal([]byte(m.Watermark), &wm); err != nil || wm.Source == "" {
		return "", 0, "", fmt.Errorf("--since %s: the archive has no watermark ferry can continue from", prev)
	}
	if wm.SiteID != info.SiteID {
		return "", 0, "", fmt.Errorf("--since %s: the archive was exported from site %s, not from %s (site %s)", prev, wm.SiteID, info.Location, info.SiteID)
	}
	switch {
	case o.Spaces == nil:
		o.Spaces = wm.Spaces
	case !sameKeys(o.Spaces, wm.Spaces):
		return "", 0, "", fmt.Errorf("--spaces %s differs from the previous archive's (%s): an increment must cover the same spaces", strings.Join(o.Spaces, ","), strings.Join(wm.Spaces, ","))
	}
	return wm.Source, wm.LastSeq, h.ArchiveID, nil
}

func sameKeys(a, b []string) bool {
	norm := func(xs []string) string {
		ys := make([]string, len(xs))
		for i, x := range xs {
			ys[i] = strings.ToLower(x)
		}
		sort.Strings(ys)
		return strings.Join(ys, ",")
	}
	return norm(a) == norm(b)
}

// exporter turns changes into archive events and copies their blobs.
type exporter struct {
	ctx      context.Context
	src      Source
	w        *archive.Writer
	seq      int64
	progress func(*Progress)
	prog     Progress
	lastTick time.Time
	held     map[string]int64 // objects skipped, per class and reason
	pipe     *blobPipe        // an embedded site's blobs, copied on another goroutine
	payloads *model.Encoder   // the archive writer copies each payload
}

func (e *exporter) emit(c *model.Change) error {
	if err := e.ctx.Err(); err != nil {
		return err
	}
	if e.pipe != nil { // take what the pipe has ready, so it never waits on us
		if err := e.addReady(false); err != nil {
			return err
		}
	}
	for _, digest := range blobsOf(c) {
		if err := e.copyBlob(digest); err != nil {
			return err
		}
	}
	payload, err := e.payloads.Encode(c.Payload)
	if err != nil {
		return fmt.Errorf("encode %s %s: %w", c.Type, c.ID, err)
	}
	e.seq++
	ev := archive.Event{Seq: e.seq, Type: string(c.Type), Entity: c.Type.Kind(), ID: c.ID, Parent: c.Parent, Space: c.Space,
		At: c.At, Actor: c.Actor, Payload: payload, Extra: model.ColumnValues(c)}
	if err := e.w.WriteEvent(&ev); err != nil {
		return err
	}
	e.prog.Events++
	e.prog.ByKind[ev.Entity]++
	if s, ok := c.Payload.(*model.Skipped); ok {
		if e.held == nil {
			e.held = map[string]int64{}
		}
		e.held[s.Class+": "+s.Reason] += max(s.Objects, 1)
	}
	if e.progress != nil && time.Since(e.lastTick) > 100*time.Millisecond {
		e.lastTick = time.Now()
		e.progress(&e.prog)
	}
	return nil
}

// blobsOf lists the blobs an event refers to.
func blobsOf(c *model.Change) []string {
	switch p := c.Payload.(type) {
	case *model.AttachmentVersion:
		return []string{p.Blob}
	case *model.Space:
		if p.Logo != "" {
			return []string{p.Logo}
		}
	}
	return nil
}

func (e *exporter) copyBlob(digest string) error {
	if e.w.HasBlob(digest) {
		return nil
	}
	if e.pipe != nil {
		return e.queue(digest)
	}
	return e.copyBlobInLine(digest)
}

// copyBlobInLine reads a blob from the source and adds it.
func (e *exporter) copyBlobInLine(digest string) error {
	r, err := e.src.OpenBlob(e.ctx, digest)
	if err != nil {
		return err
	}
	defer r.Close()
	got, size, err := e.w.AddBlob(r)
	if err != nil {
		return fmt.Errorf("blob %s: %w", digest, err)
	}
	if got != digest {
		return fmt.Errorf("blob %s hashes to %s: the source is damaged", digest, got)
	}
	e.prog.Blobs++
	e.prog.Bytes += size
	return nil
}

// Columns are model.Columns as the archive declares them.
func Columns() []archive.Column {
	cols := make([]archive.Column, len(model.Columns))
	for i, c := range model.Columns {
		cols[i] = archive.Column{Name: c.Name, Type: archive.ColumnType(c.Type)}
	}
	return cols
}
