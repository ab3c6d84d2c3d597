package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"ferry/archive"

	"github.com/spf13/cobra"
)

type verifyOptions struct {
	format string
}

func newVerifyCmd(g *globals) *cobra.Command {
	o := &verifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify ARCHIVE",
		Short: "Re-read every byte of an archive and check every checksum",
		Long: `verify reads the whole archive: the tar framing, every member's SHA-256,
every blob's content hash, every event segment row by row, and the manifest
with its own checksum. It names every damaged member it can reach.

ARCHIVE may be - to read from standard input.

Exit status: 0 when the archive is intact, 1 when it is damaged or cannot
be read, 2 on a usage error.`,
		Example: `  ferry verify site.ferry
  ferry verify site.ferry --format json
  cat site.ferry | ferry verify -`,
		Args: exactArgs("ARCHIVE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(o.format, "text", "json"); err != nil {
				return err
			}
			return runVerify(g, o, args[0])
		},
	}
	cmd.Flags().StringVar(&o.format, "format", "text", "output format: text or json")
	return cmd
}

func runVerify(g *globals, o *verifyOptions, path string) error {
	var (
		in   io.Reader = os.Stdin
		size int64     = -1
	)
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("open archive: %w", err)
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil {
			if st.IsDir() {
				return fmt.Errorf("open archive: %s is a directory, not an archive file", path)
			}
			size = st.Size()
		}
		in = f
	}
	in, done := g.progressReader(in, size, "verifying")
	rep := archive.Verify(in)
	done()
	if o.format == "json" {
		out := struct {
			Archive string `json:"archive"`
			*archive.Report
		}{path, rep}
		if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
			return err
		}
	} else {
		printVerifyText(path, rep)
	}
	if !rep.Intact {
		return silentFailure
	}
	return nil
}

func printVerifyText(path string, rep *archive.Report) {
	if !rep.Intact {
		printf("%s: DAMAGED (%d problem(s))\n", path, len(rep.Problems))
		for _, p := range rep.Problems {
			printf("  %s\n", p.Error)
		}
		printf("Do not import this archive; ask its producer for a new copy.\n")
		return
	}
	printf("%s: intact\n", path)
	printf("  archive   %s (format %s)\n", rep.ArchiveID, rep.Version)
	if rep.ParentID != "" {
		printf("  parent    %s\n", rep.ParentID)
	}
	printf("  members   %d (%d event segment(s), %d blob(s))\n", rep.Members, rep.Segments, rep.Blobs)
	printf("  events    %d\n", rep.Events)
	printf("  bytes     %d\n", rep.Bytes)
}
