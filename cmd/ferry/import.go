package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"ferry/cloud"
	importer "ferry/import"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

type importOptions struct {
	to, onConflict, mapFile, format string
	mergeGroups, dryRun, allowApps  bool
	invite                          bool
	inviteWait                      time.Duration
	spaces                          []string
	keys                            keyFlags
	journal                         string
}

func newImportCmd(g *globals) *cobra.Command {
	o := &importOptions{}
	cmd := &cobra.Command{
		Use:   "import ARCHIVE --to SITE",
		Short: "Replay an archive into a destination site, idempotently and resumably",
		Long: `import verifies the whole archive, plans, then replays its events into the
destination in archive order. It never overwrites what the destination holds:

  users   are linked to the destination account with the same email (compared
          case-insensitively), or created;
  groups  with a name the destination uses are copied as "NAME (copied)", or
          merged with --merge-groups, listing everyone who gains access;
  spaces  whose key the destination uses (compared case-insensitively) stop
          the import (--on-conflict fail, the default), are left out (skip),
          or are copied under a free key, named "... (copied)" (rename).
  titles  must be unique in a space in Confluence Cloud: a page or blog
          post whose title is taken there is written as "TITLE (copied)"
          (or "(copied 2)", ...), and reported; given --on-conflict, that
          policy applies to titles too (skip leaves the content and all in
          it out; fail stops there, and a re-run resumes).

--map FILE maps users, groups and space keys by hand (CSV: kind,source,destination
with kind user, group or space). Re-running an import changes nothing; an
interrupted one resumes where it stopped. An incremental archive imports only
where its parent was imported. --dry-run does everything and writes nothing.

Apps installed at the source and missing at the destination stop the import
before any write, listed by name: app data is never copied, and macros and
links into it break until the app is installed. --allow-missing-apps copies
anyway.

--trust KEY.pub,... refuses an archive that is not signed by one of those
keys; --identity FILE decrypts an encrypted one. Both are checked, with the
whole archive, before the destination is opened.

SITE is PATH.db or local:PATH for an embedded site, created if missing, or
https://NAME.atlassian.net (or a 'ferry sandbox' URL) for Confluence Cloud,
with credentials from FERRY_EMAIL and FERRY_API_TOKEN (or FERRY_TOKEN), or
--credentials FILE. Into Cloud, users are linked to their Atlassian account
(by account id, or by --map) when it may use the site, which is asked by
email before anything is written; the review lists those without access
(each grows the bill if invited), those whose access could not be checked
(hidden emails), and those known only by email (Cloud finds no account by
email: --map them). --invite invites those without access after the review
and waits (--invite-wait) for the invitations to take effect; without it
nobody is invited, and the memberships, permissions and restrictions they
cannot take are listed per person. The import creates groups (or
merges them with --merge-groups), adds memberships and space permissions,
and writes spaces, pages and blog posts with every version (messages name
the original author and time), footer and inline comments, attachments, labels,
restrictions and content properties.
Spaces, pages and comments carry a ferry.source property, and a journal
file (--journal) records progress, so re-runs and resumed runs write nothing
twice. Likes are reported as not written (Cloud cannot like on behalf of a user).`,
		Example: `  ferry import site.ferry --to copy.db --dry-run
  ferry import site.ferry --to copy.db --on-conflict rename --merge-groups
  ferry import week2.ferry --to copy.db`,
		Args: exactArgs("ARCHIVE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.to == "" {
				return usageError("import needs --to SITE")
			}
			if err := checkFormat(o.format, "text", "json"); err != nil {
				return err
			}
			policy, err := importer.ParsePolicy(o.onConflict)
			if err != nil {
				return usageError("%v", err)
			}
			return runImport(cmd, g, o, args[0], policy)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.to, "to", "", "the destination site: PATH.db or local:PATH")
	f.StringVar(&o.onConflict, "on-conflict", "fail", "a space key the destination uses: fail, skip or rename")
	f.BoolVar(&o.mergeGroups, "merge-groups", false, "merge source groups into same-named destination groups")
	f.StringVar(&o.mapFile, "map", "", "CSV file of kind,source,destination mappings (kind: user, group, space)")
	f.StringSliceVar(&o.spaces, "spaces", nil, "import only these space keys (and the users and groups they need)")
	f.BoolVar(&o.dryRun, "dry-run", false, "plan and count everything, write nothing")
	f.BoolVar(&o.allowApps, "allow-missing-apps", false, "copy even when apps installed at the source are missing at the destination")
	f.StringVar(&o.format, "format", "text", "report format: text or json")
	o.keys.addTrust(f)
	o.keys.addIdentity(f)
	o.keys.addCredentials(f)
	f.BoolVar(&o.invite, "invite", false, "for Confluence Cloud: invite the archive's users who may not use the destination, after the review is shown (each grows the bill)")
	f.DurationVar(&o.inviteWait, "invite-wait", 15*time.Minute, "with --invite: how long to wait for the invitations to take effect before writing")
	f.StringVar(&o.journal, "journal", "", "for Confluence Cloud: the file that records what was written (default in the user cache folder)")
	return cmd
}

func runImport(cmd *cobra.Command, g *globals, o *importOptions, path string, policy importer.Policy) (err error) {
	// An import's live heap is small (15-30 MB) and its garbage plenty, so
	// Go's default of letting the heap double before collecting made most
	// of its peak memory, and more at 400,000 pages than at 40,000 (heap
	// goal 55 -> 74 MB). Half that headroom, and a soft limit above it,
	// keep the peak near the live size (importer.SoftMemoryLimit). GOGC and
	// GOMEMLIMIT, if set, decide.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	setMemoryLimit(importer.SoftMemoryLimit)
	opts := importer.Options{OnConflict: policy, MergeGroups: o.mergeGroups, Spaces: o.spaces, DryRun: o.dryRun, AllowMissingApps: o.allowApps,
		Invite: o.invite, InviteWait: o.inviteWait}
	cloudDest := strings.HasPrefix(o.to, "http://") || strings.HasPrefix(o.to, "https://")
	if o.invite && !cloudDest {
		return usageError("--invite is for a Confluence Cloud destination (https://...): an embedded site's accounts are created by the import")
	}
	if cmd.Flags().Changed("on-conflict") {
		opts.OnTitleConflict = policy // else titles taken in Cloud are renamed "TITLE (copied)"
	}
	if opts.Read, err = o.keys.readOptions(); err != nil {
		return err
	}
	if opts.Trusted, err = o.keys.trusted(); err != nil {
		return err
	}
	// Check before the destination is opened, which may create it; then
	// import from this very handle: a file swapped in at the path
	// afterwards is never read.
	a, err := importer.OpenArchive(path, opts)
	if err != nil {
		return err
	}
	defer a.Close()
	if o.mapFile != "" {
		m, err := importer.ReadMapping(o.mapFile)
		if err != nil {
			return err
		}
		opts.Map = m
	}
	if !o.dryRun {
		release, err := importer.LockDestination(o.to, o.journal, "ferry import "+path)
		if err != nil {
			return err
		}
		defer release()
	}
	if strings.HasPrefix(o.to, "http://") || strings.HasPrefix(o.to, "https://") {
		return importCloud(cmd, o, a, opts)
	}
	open := importer.OpenDestination
	if o.dryRun {
		open = importer.OpenPlanDestination // a dry run creates no site
	}
	sitePath := strings.TrimPrefix(o.to, "local:")
	_, statErr := os.Stat(sitePath)
	created := errors.Is(statErr, os.ErrNotExist) && !o.dryRun
	dest, closer, err := open(o.to)
	if err != nil {
		return err
	}
	defer func() {
		closer.Close()
		// A site this run created and then refused to write: gone again.
		if created && errors.Is(err, importer.ErrWouldStop) {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				os.Remove(sitePath + suffix)
			}
		}
	}()
	var bar *progressbar.ProgressBar
	opts.Progress = func(r *importer.Report) {
		if bar == nil {
			if bar = g.newBar(r.Events, "importing"); bar == nil {
				return
			}
		}
		t := r.Totals()
		bar.Set64(r.Applied + t.Created + t.Updated + t.Deleted + t.Unchanged + t.Merged + t.Skipped + t.NotCopied)
	}
	rep, err := importer.RunArchive(cmd.Context(), a, dest, opts)
	if bar != nil {
		bar.Finish()
	}
	return showImport(o, rep, err, "")
}

// showImport prints an import's report: after it ran, or for a dry run
// (the whole plan, even when the real run would stop). An import refused
// before any write prints no table of zeros: its error says why.
func showImport(o *importOptions, rep *importer.Report, err error, journal string) error {
	if rep == nil || (err != nil && !rep.DryRun) {
		return err
	}
	if o.format == "json" {
		json.NewEncoder(os.Stdout).Encode(rep)
	} else {
		printImportReport(rep)
		if journal != "" && !rep.DryRun {
			printf("  journal: %s\n", journal)
		}
	}
	return err
}

func printImportReport(r *importer.Report) {
	verb := "imported"
	if r.DryRun {
		verb = "dry run of importing (nothing was written)"
	}
	printf("%s %s (archive %s, %d events) in %.1fs\n", verb, r.Archive, r.ArchiveID, r.Events, r.Seconds)
	if r.ResumedFrom > 0 {
		printf("  resumed after seq %d: %d events were applied by an earlier, interrupted run\n", r.ResumedFrom, r.Applied)
	}
	printf("  %-18s %8s %8s %8s %9s %7s %8s %10s\n", "kind", "created", "updated", "deleted", "unchanged", "merged", "skipped", "not copied")
	for _, k := range r.KindNames() {
		c := r.Kinds[k]
		printf("  %-18s %8d %8d %8d %9d %7d %8d %10d\n", k, c.Created, c.Updated, c.Deleted, c.Unchanged, c.Merged, c.Skipped, c.NotCopied)
	}
	t := r.Totals()
	printf("  %-18s %8d %8d %8d %9d %7d %8d %10d\n", "total", t.Created, t.Updated, t.Deleted, t.Unchanged, t.Merged, t.Skipped, t.NotCopied)
	printList := func(title string, m map[string]int64) {
		if len(m) == 0 {
			return
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		printf("%s\n", title)
		for _, k := range keys {
			printf("  %6d  %s\n", m[k], k)
		}
	}
	printList("not copied, and why:", r.NotCopied)
	printList("skipped, and why:", r.Skipped)
	printList("written otherwise, and why:", r.Changed)
	for _, c := range r.Conflicts {
		printf("conflict: %s\n", c)
	}
	for _, n := range r.Notes {
		printf("note: %s\n", n)
	}
	for _, c := range r.Renamed {
		printf("renamed: %s\n", c)
	}
	for _, m := range r.Merges {
		printf("group merge: %s\n", m.Group)
		printf("  destination members who gain the source group's access (%d): %s\n", len(m.DestinationMembersGain), strings.Join(m.DestinationMembersGain, ", "))
		printf("  source members who gain the destination group's access (%d): %s\n", len(m.SourceMembersGain), strings.Join(m.SourceMembersGain, ", "))
	}
	for _, d := range r.Duplicates {
		printf("duplicate email: %s\n", d)
	}
	for _, a := range r.MissingApps {
		printf("app missing at the destination (its data is not copied; macros using it will not work): %s\n", a)
	}
	if r.People != nil { // Confluence Cloud
		printf("people:\n")
		printPeopleReview(r, "  ")
		printPeople(r)
	} else if n := len(r.Linked); n > 0 {
		printf("%d source user(s) linked to existing destination accounts by email (see --format json for the list)\n", n)
	}
	if n := len(r.SameEmail); n > 0 {
		printf("%d source user(s) share an email with another source user and become one account with it (the duplicate email lines; --map keeps them apart)\n", n)
	}
}

// importCloud imports into Confluence Cloud (or a sandbox) through its API.
func importCloud(cmd *cobra.Command, o *importOptions, a *importer.Archive, opts importer.Options) error {
	c, err := o.keys.connect(cmd.Context(), o.to)
	if err != nil {
		return fmt.Errorf("--to %s: %w", cloud.RedactURL(o.to), err)
	}
	journal := o.journal
	if journal == "" {
		journal = importer.DefaultJournal(o.to)
	}
	if o.format == "text" {
		opts.OnReview = func(r *importer.Report) {
			printf("review of the people, before any write:\n")
			printPeopleReview(r, "  ")
			if opts.Invite && !opts.DryRun {
				printf("inviting those without access (--invite), then waiting up to %s for the invitations to take effect\n", opts.InviteWait)
			}
		}
	}
	rep, err := importer.RunCloudArchive(cmd.Context(), a, c, journal, opts)
	return showImport(o, rep, err, journal)
}
