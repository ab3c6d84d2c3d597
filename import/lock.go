package importer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"ferry/internal/lock"
)

// LockDestination takes the locks an import into site holds while it
// writes, so that a second import into the same destination is refused,
// naming the first, instead of interleaving with it (two runs over HTTP
// wrote the same page twice; into an embedded site, the second took the
// first for an interrupted run). An embedded site's lock is beside it; a
// Cloud site's is in the user's cache folder, named after its host, and
// its journal's beside the journal. Imports from other machines are not
// seen: run one import per destination at a time.
func LockDestination(site, journal, holder string) (release func(), err error) {
	var paths []string
	if isCloud(site) {
		paths = append(paths, DefaultJournal(site)+".lock")
		if journal != "" && journal != DefaultJournal(site) {
			paths = append(paths, journal+".lock")
		}
	} else {
		paths = append(paths, strings.TrimPrefix(site, "local:")+".lock")
	}
	var held []*lock.Lock
	release = func() {
		for _, l := range held {
			l.Release()
		}
	}
	for _, p := range paths {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			release()
			return nil, err
		}
		l, err := lock.Acquire(p, holder)
		if errors.Is(err, lock.ErrHeld) {
			release()
			return nil, fmt.Errorf("another import into %s is running, %v: wait for it to finish, or stop it, then run again (an interrupted import resumes)", site, err)
		}
		if err != nil {
			release()
			return nil, err
		}
		held = append(held, l)
	}
	return release, nil
}

func isCloud(site string) bool {
	return strings.HasPrefix(site, "http://") || strings.HasPrefix(site, "https://")
}
