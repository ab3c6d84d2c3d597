package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"

	"ferry/archive"

	"github.com/spf13/cobra"
)

// version is ferry's own version, set at build time with
// -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func newVersionCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print ferry's version and the archive format versions it reads and writes",
		Example: "  ferry version\n  ferry version --format json",
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			info := map[string]string{
				"ferry":          version,
				"archive_writes": archive.Version,
				"archive_reads":  "1.x",
				"go":             runtime.Version(),
				"platform":       runtime.GOOS + "/" + runtime.GOARCH,
			}
			if format == "json" {
				return json.NewEncoder(os.Stdout).Encode(info)
			}
			printf("%s", versionLine())
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// versionLine is what 'ferry version' and 'ferry --version' print.
func versionLine() string {
	return fmt.Sprintf("ferry %s (archive format %s; reads %s; %s %s/%s)\n", version, archive.Version, "1.x", runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
