package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// write saves the results as Markdown and, beside it, as JSON, each under
// a temporary name first.
func write(r *results, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# ferry benchmark results\n\n")
	fmt.Fprintf(&b, "Measured %s on %d cores (%s), %.1f GiB of memory; ferry %s. Written by `make bench` (`go run ./cmd/bench`).\n\n",
		r.When, r.Cores, r.CPU, r.MemGiB, r.Version)
	b.WriteString("Each ratio is the baseline's time over ferry's, measured in the same run on the same data: above 1, ferry is faster. ")
	b.WriteString("Peak RSS is the whole process's, from the kernel. Before each timed step, ferry's or a baseline's, the bench syncs, so the writeback of the step before does not land on it.\n")
	for _, s := range r.Sizes {
		fmt.Fprintf(&b, "\n## %d pages: %d page versions, %d events, %.0f MB of attachment bytes asked of the generator\n\n", s.Pages, s.PageVersions, s.Events, float64(s.AttachmentBytes)/1e6)
		fmt.Fprintf(&b, "Archive: %.1f MB; tar + zstd of the events as NDJSON and the blobs: %.1f MB (archive / tar+zstd = %.3f).\n\n",
			float64(s.ArchiveBytes)/1e6, float64(s.TarZstdBytes)/1e6, s.SizeRatio)
		if pt := s.Parts; pt != nil && pt.BlobCount > 0 {
			mb := func(n int64) float64 { return float64(n) / 1e6 }
			members := pt.BlobCount + 3 // and the header, the manifest and at least one segment
			fmt.Fprintf(&b, "Where the archive's bytes go: blobs %.1f MB as stored (%d, %.1f KB of content each on average), event segments %.1f MB, manifest %.1f MB, "+
				"tar framing %.1f MB (headers, pax records and padding: %.0f bytes per member). In tar + zstd, the events alone are %.1f MB and the blobs with their tar headers %.1f MB. "+
				"Without its framing, the archive is %.3f of tar + zstd.\n\n",
				mb(pt.Blobs), pt.BlobCount, float64(s.AttachmentBytes)/float64(pt.BlobCount)/1e3, mb(pt.Segments), mb(pt.Manifest),
				mb(pt.Framing), float64(pt.Framing)/float64(members), mb(pt.EventsZstd), mb(s.TarZstdBytes-pt.EventsZstd),
				float64(s.ArchiveBytes-pt.Framing)/float64(s.TarZstdBytes))
		}
		if s.Runs > 1 {
			fmt.Fprintf(&b, "Export, verify and inspect, and their baselines, each ran %d times: their figures are the medians (the peak RSS, the highest). The other steps ran once.\n\n", s.Runs)
		}
		b.WriteString("| step | seconds | events/s | peak RSS MiB | baseline | baseline s | ratio |\n|---|---:|---:|---:|---|---:|---:|\n")
		for _, st := range s.Steps {
			rate := ""
			if st.Events > 0 && st.Seconds > 0 {
				rate = fmt.Sprintf("%.0f", float64(st.Events)/st.Seconds)
			}
			base, baseSec, ratio := st.Baseline, "", ""
			if st.BaseSec > 0 {
				baseSec, ratio = fmt.Sprintf("%.2f", st.BaseSec), fmt.Sprintf("%.2f", st.Ratio)
			}
			fmt.Fprintf(&b, "| %s | %.2f | %s | %.0f | %s | %s | %s |\n", st.Name, st.Seconds, rate, st.PeakMiB, base, baseSec, ratio)
		}
		for _, st := range s.Steps {
			if st.Note != "" {
				fmt.Fprintf(&b, "\n- %s: %s", st.Name, st.Note)
			}
		}
		b.WriteString("\n")
	}
	if len(r.Sizes) > 1 {
		// The archive writer buffers one Parquet row group (122,880 rows):
		// below that, a site's peaks are lower and not comparable, so
		// growth is measured from the first site past it.
		small, large := r.Sizes[0], r.Sizes[len(r.Sizes)-1]
		for _, s := range r.Sizes[:len(r.Sizes)-1] {
			if s.Events >= 122880 {
				small = s
				break
			}
		}
		fmt.Fprintf(&b, "\n## Memory from the %d-page site to the %d-page one (%.0f× the events)\n\n", small.Pages, large.Pages, float64(large.Events)/float64(max(small.Events, 1)))
		b.WriteString("Measured from the first site with at least one full Parquet row group (122,880 events), which the archive writer buffers.\n\n")
		b.WriteString("The events column says what each step handled at the two sizes. An increment is what the same number of edits made of each site, so the incremental steps compare increments of different sizes, not the same increment over a larger site.\n\n")
		fmt.Fprintf(&b, "| step | peak RSS MiB, %d pages | %d pages | growth | events |\n|---|---:|---:|---:|---:|\n", small.Pages, large.Pages)
		for i, st := range small.Steps {
			if i < len(large.Steps) && st.PeakMiB > 0 {
				l := large.Steps[i]
				events := ""
				if st.Events > 0 {
					events = fmt.Sprintf("%d → %d", st.Events, l.Events)
				}
				fmt.Fprintf(&b, "| %s | %.0f | %.0f | %+.0f%% | %s |\n", l.Name, st.PeakMiB, l.PeakMiB, (l.PeakMiB/st.PeakMiB-1)*100, events)
			}
		}
	}
	if err := writeFile(path, []byte(b.String())); err != nil {
		return err
	}
	data, _ := json.MarshalIndent(r, "", "  ")
	return writeFile(strings.TrimSuffix(path, filepath.Ext(path))+".json", append(data, '\n'))
}

func writeFile(path string, data []byte) error {
	tmp := path + ".partial"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
