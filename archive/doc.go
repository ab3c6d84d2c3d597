// Package archive reads and writes ferry archives: a POSIX tar holding a
// header, an ordered log of events in Parquet segments, content-addressed
// blobs and a manifest of every member's size and SHA-256. spec/ARCHIVE.md
// is the definition; this package is one implementation of it.
//
// The package knows nothing about Confluence: an event is an envelope (seq,
// type, entity, id, ...) around an opaque JSON payload, and a blob is bytes.
//
// Writer streams an archive forwards to any io.Writer with bounded memory: a
// segment or blob is spooled (memory, then a temporary file) until its size
// and hash are known, then copied out. A Writer that fails midway leaves an
// archive without a manifest, which every Reader refuses; Create adds a
// temporary name and an atomic rename for files. A segment's Parquet is
// encoded on another goroutine while the next events come in; a producer
// that ends with blobs to add calls EndEvents first, so the last segment
// is finished meanwhile.
//
// Reader reads an archive sequentially from a stream, checking each member
// against the SHA-256 in its own pax header as it passes and the whole
// against the manifest at the end. File reads a seekable archive with
// random access, checking the manifest before any member is used. Verify
// re-reads every byte and names every damaged member; given the file too
// (ReadAhead), it starts on the segments and the manifest at once rather
// than when the stream reaches them. Identify and
// ReadManifest read only an archive's ends, the header member and the
// manifest, for callers that need to name or describe an archive, not
// read it.
package archive

// SoftMemoryLimit is the Go soft memory limit that the ferry command sets
// (unless GOMEMLIMIT is set). A Writer's live memory is bounded, but Go's
// collector lets the heap grow to twice the live size by default; the
// limit makes it collect sooner instead.
const SoftMemoryLimit = 160 << 20

// VerifySoftMemoryLimit is the tighter limit ferry verify sets: Verify
// holds at most 16 MB of members for its workers and one decoded batch
// of events (verify_work.go), about 25 MB live, but its garbage comes
// faster on archives of bigger blobs, and at SoftMemoryLimit the heap
// grew with the archive (59 MB in use at 400,000 pages against 21 at
// 40,000). At this limit it stays near the live size, at no measured cost
// in time. ferry verify also turns off the collector's doubling rule, so
// it collects only near this limit: its peak RSS is then the same at every
// size (69-76 MB from 4,000 to 400,000 pages), and its time 1-5% shorter.
const VerifySoftMemoryLimit = 48 << 20
