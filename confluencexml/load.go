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
	ix, err := buildIndex(ctx, r, ixFile.Name())
	r.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", exportPath, err)
	}
	defer ix.close()
	rep := &Report{Objects: ix.counts, Created: map[string]int64{}}
	b := &builder{ctx: ctx, ix: ix, site: site, files: files, rep: rep, users: map[string]string{}, groups: map[string]string{},
		spaces: map[string]string{}, content: map[string]string{}, comments: map[string]bool{}}
	if err := b.run(); err != nil {
		return nil, fmt.Errorf("%s: %w", exportPath, err)
	}
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
		return func() (io.ReadCloser, error) { return os.Open(x) }, dirFiles(filepath.Join(p, "attachments")), func() {}, nil
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

// dirFiles reads attachments from a folder. The names come from the
// export, so builder checks them before they get here.
type dirFiles string

func (d dirFiles) open(container, attachment, version string) (io.ReadCloser, error) {
	f, err := os.Open(filepath.Join(string(d), container, attachment, version))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return f, err
}

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
