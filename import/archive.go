package importer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"ferry/archive"
)

// Archive is an archive opened once for an import. Every check and the
// import itself read through this one handle, so the file that was
// checked is the file imported, whatever happens to its path meanwhile
// (another file renamed over it while a --map FIFO holds the import, say).
type Archive struct {
	Path string
	*archive.File
	fh *os.File
}

// OpenArchive opens path for an import and checks it before anything is
// written, cheapest first:
//
//  1. its framing, header and manifest (the member list, no contents);
//  2. with o.Trusted, the signature over the manifest, so that an archive
//     nobody trusted is refused before a segment or blob is parsed; from
//     then on the manifest's sizes and checksums are trusted ones;
//  3. every byte of every member (archive.Verify), through the same handle;
//  4. that it decrypts with o.Read's identities, and is not a redacted copy.
func OpenArchive(path string, o Options) (*Archive, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	a, err := checkArchive(path, fh, o)
	if err != nil {
		fh.Close()
		return nil, err
	}
	return a, nil
}

func checkArchive(path string, fh *os.File, o Options) (*Archive, error) {
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("archive %s is not a regular file; nothing was imported", path)
	}
	f, err := archive.NewFile(fh, st.Size(), o.Read...)
	switch {
	case errors.Is(err, archive.ErrNotArchive):
		return nil, fmt.Errorf("%s: %w; nothing was imported", path, err)
	case err != nil:
		return nil, fmt.Errorf("archive %s is damaged, nothing was imported: %w", path, err)
	}
	a := &Archive{Path: path, File: f, fh: fh}
	if err := a.check(o, st.Size()); err != nil {
		f.Close()
		return nil, err
	}
	return a, nil
}

func (a *Archive) check(o Options, size int64) error {
	path := a.Path
	if o.Trusted != nil {
		sig, err := a.Signature()
		switch {
		case err != nil:
			return fmt.Errorf("archive %s: %w; nothing was imported", path, err)
		case sig == nil:
			return fmt.Errorf("archive %s is not signed, and --trust asks for a signature by a trusted key; nothing was imported", path)
		}
		if err := sig.Trusted(o.Trusted); err != nil {
			return fmt.Errorf("archive %s: %w; nothing was imported", path, err)
		}
	}
	read := append(slices.Clip(o.Read), archive.ReadAhead(a.fh, size))
	if rep := archive.Verify(io.NewSectionReader(a.fh, 0, size), read...); !rep.Intact {
		return fmt.Errorf("archive %s is damaged, nothing was imported: %s", path, rep.Problems[0].Error)
	}
	if err := a.CheckIdentities(); err != nil {
		return fmt.Errorf("%w; nothing was imported", err)
	}
	if r := a.Manifest().Redaction; r != nil {
		return fmt.Errorf("archive %s is a redacted copy for review (%s replaced), not for import; nothing was imported: import the original", path, strings.Join(r.Fields, ", "))
	}
	return nil
}

// Close closes the archive.
func (a *Archive) Close() error { return a.File.Close() }

// Verify checks the archive at path as OpenArchive does, and closes it.
func Verify(path string, o Options) error {
	a, err := OpenArchive(path, o)
	if err != nil {
		return err
	}
	return a.Close()
}
