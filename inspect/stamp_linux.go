//go:build linux

package inspect

import (
	"os"
	"syscall"
)

// fileStamp is what tells a file changed or replaced since it was read.
type fileStamp struct {
	Dev, Ino         uint64
	Size             int64
	ModNano, ChgNano int64
}

func stampOf(path string) (fileStamp, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.Mode().IsRegular() {
		return fileStamp{}, false
	}
	return fileStamp{Dev: uint64(st.Dev), Ino: st.Ino, Size: fi.Size(),
		ModNano: fi.ModTime().UnixNano(), ChgNano: st.Ctim.Nano()}, true
}
