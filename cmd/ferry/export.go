package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"ferry/archive"
	"ferry/export"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

type exportOptions struct {
	from, out, since string
	spaces           []string
	format           string
	keys             keyFlags
}

func newExportCmd(g *globals) *cobra.Command {
	o := &exportOptions{}
	cmd := &cobra.Command{
		Use:   "export --from SITE --out ARCHIVE [--since PREVIOUS] [--spaces KEY,...]",
		Short: "Write a site's history to an archive, in full or since a previous archive",
		Long: `export reads a source site and writes every entity's history, in the order a
destination can replay it, to one archive file (spec/ARCHIVE.md, spec/EVENTS.md).

SITE is PATH.db or local:PATH for an embedded site, https://NAME.atlassian.net
(or any http(s) URL, such as a 'ferry sandbox') for Confluence Cloud, or xml:PATH for a
Confluence XML export (a .zip, its unzipped folder, or a bare entities.xml).
An XML export is read in a single streaming pass into a temporary index; what
it holds that ferry does not copy is listed in the archive, per class, with
the reason ('ferry inspect' shows it).

--since PREVIOUS.ferry writes only what changed after that archive (new
versions, moves, status changes, updates, deletions) and names it as the
new archive's parent. --spaces KEY,... exports only those spaces (keys compared
case-insensitively) and the users and groups they reference.

--sign KEY signs the archive (ferry keygen makes keys); --recipient age1...
(repeatable) encrypts every member for those age recipients.

The archive appears under its name only when it is complete.`,
		Example: `  ferry export --from site.db --out site.ferry
  ferry export --from site.db --out week2.ferry --since site.ferry
  ferry export --from site.db --out eng.ferry --spaces ENG,OPS
  ferry export --from xml:Confluence-space-export.zip --out eng.ferry
  ferry export --from site.db --out site.ferry --sign acme-signing --recipient age1...`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.from == "" || o.out == "" {
				return usageError("export needs --from SITE and --out ARCHIVE")
			}
			if err := checkFormat(o.format, "text", "json"); err != nil {
				return err
			}
			return runExport(cmd, g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.from, "from", "", "the source site: PATH.db, local:PATH, or xml:PATH for a Confluence XML export")
	f.StringVar(&o.out, "out", "", "the archive to write")
	f.StringVar(&o.since, "since", "", "a previous archive of the same site: export only what changed after it")
	f.StringSliceVar(&o.spaces, "spaces", nil, "export only these space keys (and whom they reference)")
	f.StringVar(&o.format, "format", "text", "summary format: text or json")
	o.keys.addSigning(f)
	o.keys.addCredentials(f)
	return cmd
}

// kindCounts names the kinds with the most events so far, for the bar.
func kindCounts(byKind map[string]int64) string {
	kinds := slices.Sorted(maps.Keys(byKind))
	slices.SortStableFunc(kinds, func(a, b string) int { return cmp.Compare(byKind[b], byKind[a]) })
	var parts []string
	for _, k := range kinds[:min(4, len(kinds))] {
		parts = append(parts, fmt.Sprintf("%s %d", k, byKind[k]))
	}
	return strings.Join(parts, ", ")
}

func runExport(cmd *cobra.Command, g *globals, o *exportOptions) error {
	src, closer, err := export.OpenSource(cmd.Context(), o.from, o.keys.connect)
	if err != nil {
		return err
	}
	defer closer.Close()
	if st, err := os.Stat(o.out); err == nil && st.IsDir() {
		return fmt.Errorf("--out %s is a directory; give a file name", o.out)
	}
	writerOpts, err := o.keys.writerOptions()
	if err != nil {
		return err
	}
	var bar *progressbar.ProgressBar
	opts := export.Options{Since: o.since, Spaces: o.spaces, Producer: archive.Producer{Name: "ferry", Version: version}, Archive: writerOpts,
		Progress: func(p *export.Progress) {
			if bar == nil {
				total := p.Estimate
				if total <= 0 {
					total = -1
				}
				if bar = g.newBar(total, "exporting"); bar == nil {
					return
				}
			}
			if p.Estimate > 0 && p.Events > p.Estimate {
				bar.ChangeMax64(p.Events) // the estimate was low
			}
			bar.Describe(kindCounts(p.ByKind))
			bar.Set64(p.Events)
		}}
	sum, err := export.Run(cmd.Context(), src, o.out, opts)
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return err
	}
	if o.format == "json" {
		return json.NewEncoder(os.Stdout).Encode(sum)
	}
	printf("exported %s to %s in %.1fs\n", o.from, sum.Archive, sum.Seconds)
	printf("  archive  %s", sum.ArchiveID)
	if sum.ParentID != "" {
		printf(" (continues %s)", sum.ParentID)
	}
	printf("\n")
	if len(sum.Spaces) > 0 {
		printf("  spaces   %s\n", strings.Join(sum.Spaces, ", "))
	}
	switch {
	case sum.Events > 0:
		printf("  events   %d (seq %d..%d)\n", sum.Events, sum.FirstSeq, sum.LastSeq)
	case sum.ParentID != "":
		printf("  events   0: nothing changed since the archive it continues\n")
	default:
		printf("  events   0\n")
	}
	kinds := slices.Sorted(maps.Keys(sum.ByKind))
	for _, k := range kinds {
		printf("    %-18s %d\n", k, sum.ByKind[k])
	}
	printf("  blobs    %d (%d bytes of content)\n", sum.Blobs, sum.BlobBytes)
	printf("  size     %d bytes\n", sum.Bytes)
	printf("  digest   %s\n", sum.Digest)
	if sum.Visibility == "limited" {
		printf("  NOT THE WHOLE SITE: %s\n", sum.Limits)
	}
	if sum.RateLimitWait > 0 {
		printf("  waited   %s for Confluence's rate limits\n", time.Duration(sum.RateLimitWait*float64(time.Second)).Round(time.Second))
	}
	if sum.PeakRSS > 0 {
		printf("  memory   %d MiB peak\n", sum.PeakRSS>>20)
	}
	if len(sum.Passes) > 0 {
		printf("  passes   index %.1fs, build %.1fs, export %.1fs\n", sum.Passes["index"], sum.Passes["build"], sum.Passes["export"])
	}
	if len(sum.Held) > 0 {
		// Last, as a checklist: each object is a source.skipped event
		// (ferry inspect lists them; --sql over events where entity =
		// 'source' gives the lines and ids).
		printf("held by the source and not copied, or copied otherwise, per reason:\n")
		keys := slices.Sorted(maps.Keys(sum.Held))
		slices.SortStableFunc(keys, func(a, b string) int { return cmp.Compare(sum.Held[b], sum.Held[a]) })
		for _, k := range keys {
			printf("  %7d  %s\n", sum.Held[k], k)
		}
	}
	return nil
}
