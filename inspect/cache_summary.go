package inspect

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// A cache entry remembers its archives' summary: it is what every review
// starts with, it reads every event (0.5 s at 400,000 pages), and it is a
// function of the archives, which the entry's name fixes, and of the ferry
// that computed it, which summary.json names by its executable's stat. A
// ferry built again computes it again.

const cacheSummaryFile = "summary.json"

type rememberedSummary struct {
	Ferry   fileStamp `json:"ferry"`
	Summary *Summary  `json:"summary"`
}

// executableStamp identifies the running ferry, or fails.
func executableStamp() (fileStamp, bool) {
	exe, err := os.Executable()
	if err != nil {
		return fileStamp{}, false
	}
	return stampOf(exe)
}

// cachedSummary is the entry's summary, if this ferry computed it.
func (in *Inspector) cachedSummary() *Summary {
	if in.entry == "" {
		return nil
	}
	exe, ok := executableStamp()
	if !ok {
		return nil
	}
	data, err := os.ReadFile(filepath.Join(in.entry, cacheSummaryFile))
	if err != nil {
		return nil
	}
	var r rememberedSummary
	if json.Unmarshal(data, &r) != nil || r.Ferry != exe || r.Summary == nil {
		return nil
	}
	return r.Summary
}

// rememberSummary writes s into the entry; on failure nothing is kept,
// and the next call computes it again.
func (in *Inspector) rememberSummary(s *Summary) {
	exe, ok := executableStamp()
	if in.entry == "" || !ok {
		return
	}
	if data, err := json.Marshal(rememberedSummary{Ferry: exe, Summary: s}); err == nil {
		writeByRename(filepath.Join(in.entry, cacheSummaryFile), data)
	}
}
