package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"ferry/embedded"
	"ferry/generate"

	"github.com/spf13/cobra"
)

type generateOptions struct {
	out             string
	evolve          string
	users, spaces   int
	pages, changes  int
	seed            int64
	attachmentBytes int64
	folders         int
}

func newGenerateCmd(g *globals) *cobra.Command {
	o := &generateOptions{}
	cmd := &cobra.Command{
		Use:   "generate --out SITE.db | --evolve SITE.db --changes N",
		Short: "Make a synthetic embedded site, or edit one, for demos, rehearsals and tests",
		Long: `generate writes a realistic synthetic Confluence site into a new embedded
site (a SQLite file): users (some inactive or deleted, some with emails that
differ only in case), groups, apps, spaces of skewed sizes (personal and
archived ones too), page trees several levels deep with version history,
blog posts, threaded and inline comments, attachments (some identical),
labels, restrictions, properties and likes, and with --folders, Confluence
Cloud's folders in the page trees. The same seed gives the same site.

With --evolve it edits an existing site instead, as its users would: new
versions, renames, moves, trash and restore, deletions, new users, groups and
memberships, permission changes. Incremental exports then carry those edits.`,
		Example: `  ferry generate --out site.db --users 200 --spaces 8 --pages 2000 --seed 1
  ferry generate --evolve site.db --changes 300 --seed 2`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case o.out == "" && o.evolve == "":
				return usageError("generate needs --out SITE.db (a new site) or --evolve SITE.db (an existing one)")
			case o.out != "" && o.evolve != "":
				return usageError("give --out or --evolve, not both")
			case o.evolve != "" && o.changes < 1:
				return usageError("--evolve needs --changes N with N at least 1")
			case o.out != "" && (o.users < 1 || o.spaces < 1 || o.pages < o.spaces):
				return usageError("--users and --spaces must be at least 1 and --pages at least --spaces")
			case o.folders < 0:
				return usageError("--folders must not be negative")
			case o.attachmentBytes < 0:
				return usageError("--attachment-bytes must not be negative")
			}
			return runGenerate(cmd.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.out, "out", "", "the new site's file (must not exist)")
	f.StringVar(&o.evolve, "evolve", "", "an existing generated site to edit")
	f.IntVar(&o.users, "users", 100, "number of users")
	f.IntVar(&o.spaces, "spaces", 5, "number of spaces")
	f.IntVar(&o.pages, "pages", 500, "number of pages, spread over the spaces")
	f.IntVar(&o.changes, "changes", 0, "with --evolve: number of edits")
	f.Int64Var(&o.seed, "seed", 1, "random seed: the same seed gives the same site")
	f.Int64Var(&o.attachmentBytes, "attachment-bytes", 8<<20, "total bytes of attachment contents")
	f.IntVar(&o.folders, "folders", 0, "folders in each space's page tree, some pages moved into them (Confluence Cloud's)")
	return cmd
}

func runGenerate(ctx context.Context, g *globals, o *generateOptions) error {
	start := time.Now()
	if o.evolve != "" {
		site, err := embedded.OpenExisting(o.evolve)
		if err != nil {
			return err
		}
		defer site.Close()
		if err := generate.Evolve(ctx, site, o.changes, o.seed); err != nil {
			return err
		}
		rev, _ := site.Rev(ctx)
		printf("evolved %s: %d changes in %.1fs (site revision %d)\n", o.evolve, o.changes, time.Since(start).Seconds(), rev)
		return nil
	}
	// Generate into a temporary file, renamed when complete.
	tmp := o.out + ".partial"
	if _, err := os.Stat(o.out); err == nil {
		return fmt.Errorf("--out %s: the file exists; choose a new name", o.out)
	}
	os.Remove(tmp)
	site, err := embedded.Create(tmp)
	if err != nil {
		return err
	}
	bar, done := g.progressCount(int64(o.pages), "generating pages")
	err = generate.Site(ctx, site, generate.Options{Users: o.users, Spaces: o.spaces, Pages: o.pages, AttachmentBytes: o.attachmentBytes, Seed: o.seed, Folders: o.folders,
		Progress: func(n int) { bar(int64(n)) }})
	done()
	if err == nil {
		_, err = site.DB().ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	}
	site.Close()
	if err == nil {
		err = os.Rename(tmp, o.out)
	}
	if err != nil {
		os.Remove(tmp)
		os.Remove(tmp + "-wal")
		os.Remove(tmp + "-shm")
		return err
	}
	os.Remove(tmp + "-wal")
	os.Remove(tmp + "-shm")
	st, _ := os.Stat(o.out)
	printf("generated %s: %d users, %d spaces, %d pages, seed %d, %d MB, in %.1fs\n", o.out, o.users, o.spaces, o.pages, o.seed, st.Size()>>20, time.Since(start).Seconds())
	return nil
}
