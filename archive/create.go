package archive

import (
	"fmt"
	"os"
	"path/filepath"
)

// Create starts an archive file at path. It writes to a temporary name in
// the same directory; Close syncs it and renames it to path, so path never
// names a partial archive. Abort, or a failed Close, removes the temporary.
func Create(path string, h Header, opts ...Option) (*Writer, error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".partial-*")
	if err != nil {
		return nil, fmt.Errorf("create archive %s: %w", path, err)
	}
	tmp := f.Name()
	sf := newSyncingFile(f)
	w, err := NewWriter(sf, h, append([]Option{WithTempDir(dir)}, opts...)...)
	if err != nil {
		sf.stop()
		f.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("create archive %s: %w", path, err)
	}
	w.finish = func() error {
		if err := sf.Sync(); err != nil {
			return fmt.Errorf("sync archive %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("close archive %s: %w", path, err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("rename archive into place: %w", err)
		}
		w.abort = nil
		return syncDir(dir)
	}
	w.abort = func() {
		sf.stop()
		f.Close()
		os.Remove(tmp)
	}
	return w, nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
