package inspect

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"

	"ferry/archive"
)

// Identifying an archive reads its manifest whole to check it (40 MB at
// 400,000 pages, 50 ms), on every call. The cache remembers each path's
// identity with the file's stat, as git's index remembers a file's hash:
// a file written, replaced or moved since has another change time or
// inode, and is identified again.

// identityDir holds one small file per archive path, beside the entries.
const identityDir = "identities"

type knownIdentity struct {
	Path     string         `json:"path"`
	Stat     fileStamp      `json:"stat"`
	Header   archive.Header `json:"header"`
	Identity string         `json:"identity"`
}

// identify is archive.Identify, remembered under root.
func identify(root, path string) (archive.Header, string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return archive.Header{}, "", err
	}
	sum := sha256.Sum256([]byte(abs))
	memo := filepath.Join(root, identityDir, hex.EncodeToString(sum[:16])+".json")
	before, ok := stampOf(abs)
	if ok {
		var k knownIdentity
		if data, err := os.ReadFile(memo); err == nil && json.Unmarshal(data, &k) == nil && k.Path == abs && k.Stat == before {
			return k.Header, k.Identity, nil
		}
	}
	h, id, err := archive.Identify(abs)
	if err != nil || !ok || h.Encrypted() {
		return h, id, err // an encrypted archive is never cached, nor is anything of it
	}
	if after, ok := stampOf(abs); !ok || after != before {
		return h, id, nil // written to while it was read: not remembered
	}
	remember(memo, knownIdentity{Path: abs, Stat: before, Header: h, Identity: id})
	return h, id, nil
}

// remember writes k to memo; on failure nothing is kept, and the next
// call identifies the file again.
func remember(memo string, k knownIdentity) {
	data, err := json.Marshal(k)
	if err != nil || os.MkdirAll(filepath.Dir(memo), 0o700) != nil {
		return
	}
	writeByRename(memo, data)
}

// writeByRename writes data to path, readable by its owner only, through a
// temporary file in the same folder and a rename, so a reader never sees
// half of it; on failure nothing is left.
func writeByRename(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
