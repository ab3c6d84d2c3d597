package main

import (
	"context"
	"encoding/json"
	"os"

	"ferry/archive"
	"ferry/compare"

	"github.com/spf13/cobra"
)

func newCompareCmd() *cobra.Command {
	var format string
	var limit int
	var keys keyFlags
	cmd := &cobra.Command{
		Use:   "compare A B",
		Short: "Say whether two sites or archives hold the same content",
		Long: `compare replays A and B (each a site, PATH.db or local:PATH, or a full
archive) and compares, per kind, what ferry copies: users by email, groups by
name and members, spaces by key, pages and blog posts by space and title with
their whole history and bodies (user mentions compared by email), comments,
attachments with their bytes, labels, restrictions, properties, likes and
permissions. Ids are not compared: they differ between sites.

Exit status: 0 when equal, 1 when different (the differences are listed),
2 on a usage error.`,
		Example: `  ferry compare source.db copy.db
  ferry compare site.ferry copy.db --format json`,
		Args: exactArgs("A", "B"),
		RunE: func(cmd *cobra.Command, args []string) error {
			readOpts, err := keys.readOptions()
			if err != nil {
				return err
			}
			return runCompare(cmd.Context(), args, format, limit, readOpts)
		},
	}
	keys.addIdentity(cmd.Flags())
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().IntVar(&limit, "limit", 30, "how many differences to list in text output")
	return cmd
}

// runCompare compares two sites or full archives and prints the result;
// it exits 1 (silently) when they differ.
func runCompare(ctx context.Context, args []string, format string, limit int, readOpts []archive.ReadOption) error {
	if err := checkFormat(format, "text", "json"); err != nil {
		return err
	}
	res, err := compare.Compare(ctx, args[0], args[1], readOpts...)
	if err != nil {
		return err
	}
	sums, diffs := res.Kinds, res.Differences
	if format == "json" {
		json.NewEncoder(os.Stdout).Encode(map[string]any{"a": args[0], "b": args[1], "equal": len(diffs) == 0, "kinds": sums, "differences": diffs})
	} else {
		printf("A: %s\nB: %s\n", args[0], args[1])
		printf("  %-18s %8s %8s  %s\n", "kind", "A", "B", "")
		for _, s := range sums {
			verdict := "equal"
			if !s.Equal {
				verdict = "DIFFERENT"
			}
			printf("  %-18s %8d %8d  %s\n", s.Kind, s.A, s.B, verdict)
		}
		for i, d := range diffs {
			if i == limit {
				printf("... and %d more differences (--limit, or --format json for all)\n", len(diffs)-limit)
				break
			}
			printf("  %s %s: %s\n", d.Kind, d.Key, d.What)
		}
		if len(diffs) == 0 {
			printf("equal\n")
		}
	}
	if len(diffs) > 0 {
		return silentFailure
	}
	return nil
}
