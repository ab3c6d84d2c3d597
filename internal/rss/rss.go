// Package rss reads the process's peak resident memory, which export and
// import report so admins can size machines and benchmarks can check that
// memory stays flat.
package rss

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// Peak returns the process's peak resident set size in bytes (Linux
// VmHWM), or 0 where the system does not tell.
func Peak() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
