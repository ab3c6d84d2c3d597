package confluencexml

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"ferry/embedded"
)

// Load reads the Confluence XML export at exportPath (a .zip, an unzipped
// export folder, or a bare entities.xml) into site, which should be new
// and empty. The index it needs is a SQLite file in tmpDir, removed when
// Load returns.
func Load(ctx context.Context, exportPath string, site *embedded.Site, tmpDir string) (*Report, error) {
	entities, files, closer, err := openExport(exportPath)
	if err != nil {
		return nil, err
	}
	defer closer()
	ixFile, err := os.CreateTemp(tmpDir, "ferry-xml-index-*.db")
	if err != nil {
		return nil, err
	}
	ixFile.Close()
	defer os.Remove(ixFile.Name())
	r, err := entities()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	ix, err := buildIndex(ctx, r, ixFile.Name())
	r.Close()
	indexed := time.Since(start).Seconds()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", exportPath, err)
	}
	defer ix.close()
	rep := &Report{Objects: ix.counts, Created: map[string]int64{}, Skipped: ix.dups, Seconds: map[string]float64{"index": indexed}}
	b := &builder{ctx: ctx, ix: ix, site: site, files: files, rep: rep, users: map[string]string{}, groups: map[string]string{},
		spaces: map[string]string{}, content: map[string]string{}, comments: map[string]bool{}}
	start = time.Now()
	if err := b.run(); err != nil {
		return nil, fmt.Errorf("%s: %w", exportPath, err)
	}
	rep.Seconds["build"] = time.Since(start).Seconds()
	return rep, nil
}

// openExport finds entities.xml and the attachments of an export.
func openExport(p string) (entities func() (io.ReadCloser, error), files attachmentFiles, closer func(), err error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("xml export: %w", err)
	}
	switch {
	case st.IsDir():
		x := filepath.Join(p, "entities.xml")
		if _, err := os.Stat(x); err != nil {
			return nil, nil, nil, fmt.Errorf("xml export %s: no entities.xml in the folder", p)
		}
		files, err := openDirFiles(filepath.Join(p, "attachments"))
		if err != nil {
			return nil, nil, nil, fmt.Errorf("xml export %s: %w", p, err)
		}
		return func() (io.ReadCloser, error) { return os.Open(x) }, files, files.close, nil
	case strings.HasSuffix(strings.ToLower(p), ".zip"):
		z, err := zip.OpenReader(p)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("xml export %s: %w", p, err)
		}
		var x *zip.File
		for _, f := range z.File {
			if f.Name == "entities.xml" {
				x = f
			}
		}
		if x == nil {
			z.Close()
			return nil, nil, nil, fmt.Errorf("xml export %s: the zip has no entities.xml", p)
		}
		return x.Open, zipFiles{z: &z.Reader}, func() { z.Close() }, nil
	default:
		return func() (io.ReadCloser, error) { return os.Open(p) }, noFiles{}, func() {}, nil
	}
}

type noFiles struct{}

func (noFiles) open(string, string, string) (io.ReadCloser, error) { return nil, nil }

// dirFiles reads attachments from an export's attachments folder. The
// names come from the export, so every open goes through an os.Root: no
// name, "..", absolute path or symbolic link reaches outside the folder,
// and only regular files are read (a link inside the folder is refused
// too, so what is copied is what the export holds).
type dirFiles struct{ root *os.Root }

func openDirFiles(dir string) (*dirFiles, error) {
	root, err := os.OpenRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return &dirFiles{}, nil // an export without attachments
	}
	if err != nil {
		return nil, err
	}
	return &dirFiles{root: root}, nil
}

func (d *dirFiles) close() {
	if d.root != nil {
		d.root.Close()
	}
}

func (d *dirFiles) open(container, attachment, version string) (io.ReadCloser, error) {
	if d.root == nil {
		return nil, nil
	}
	name := path.Join(container, attachment, version)
	if err := checkAttachmentPath(container, attachment, version); err != nil {
		return nil, err // the builder checked already; kept for any other caller
	}
	st, err := d.root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		// Among them "path escapes from parent": a link on the way out.
		return nil, fmt.Errorf("%w: attachments/%s: %v", errUnsafePath, name, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: attachments/%s is a %s", errNotRegular, name, fileKind(st.Mode()))
	}
	f, err := d.root.Open(name)
	if err != nil {
		return nil, fmt.Errorf("attachments/%s: %w", name, err)
	}
	// Replaced between the two calls: the root still kept it inside.
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%w: attachments/%s changed while it was opened", errNotRegular, name)
	}
	return f, nil
}

// errNotRegular marks an attachment path that is not a regular file.
var errNotRegular = errors.New("not a regular file")

func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m.IsDir():
		return "folder"
	}
	return "special file"
}

// checkAttachmentPath refuses names that are not one plain path element
// each: the export's ids and version numbers name the file, and a "..",
// a separator or a hidden name would reach somewhere else.
func checkAttachmentPath(parts ...string) error {
	for _, p := range parts {
		if !safeID.MatchString(p) || !filepath.IsLocal(p) {
			return fmt.Errorf("%w: %q", errUnsafePath, truncate(p, 80))
		}
	}
	return nil
}

// errUnsafePath marks an attachment whose ids would make a path outside
// attachments/.
var errUnsafePath = errors.New("a path outside attachments/")

type zipFiles struct{ z *zip.Reader }

func (z zipFiles) open(container, attachment, version string) (io.ReadCloser, error) {
	f, err := z.z.Open(path.Join("attachments", container, attachment, version))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return f, err
}

// jsonString is a property's value as JSON: itself when it is JSON, else
// a JSON string.
func jsonString(v string) json.RawMessage {
	if json.Valid([]byte(v)) && strings.TrimSpace(v) != "" {
		return json.RawMessage(v)
	}
	b, _ := json.Marshal(v)
	return b
}
