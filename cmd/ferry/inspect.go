package main

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"ferry/archive"
	"ferry/cloud"
	importer "ferry/import"
	"ferry/inspect"

	"github.com/spf13/cobra"
)

type inspectOptions struct {
	format, query, out, against, report string
	usersCSV, extract                   string
	memoryLimit                         string
	noCache                             bool
	timeout                             time.Duration
	schema                              bool
	keys                                keyFlags
	readOpts                            []archive.ReadOption
}

func newInspectCmd() *cobra.Command {
	o := &inspectOptions{}
	cmd := &cobra.Command{
		Use:   "inspect ARCHIVE [ARCHIVE...] [--sql QUERY] [--schema] [--against SITE] [--extract DIR] | inspect diff A B",
		Short: "Answer questions about an archive offline, with SQL",
		Long: `inspect opens an archive with DuckDB, in process and offline, checking every
event segment it reads (it never reads the blobs, and never unpacks the
archive into memory).

Without flags it summarizes: counts per kind; what will not be copied, and
why (the scope table that import uses); whose personal data is inside; apps
whose data stays behind; the largest attachments and any over Confluence
Cloud's 2 GB limit.

--sql runs read-only SQL over the views (--schema lists them): events,
users, groups, memberships, spaces, space_permissions, pages, page_versions,
blogposts, comments, attachments, labels, restrictions, apps, scope. The
query can read the archive's events and nothing else. Several statements,
separated by ; (a review script: --sql "$(cat audit.sql)"), run in one
call, each query's result printed in turn. Statements that prepare (CREATE
TEMP VIEW, CREATE TEMP MACRO, SET VARIABLE) print nothing; --out saves the
query that ends the script.

--against SITE plans an import into SITE without writing (the same planner as
'ferry import --dry-run'): space key conflicts, group merges and who gains
access, users matched by email, and how many new accounts would join groups.
Against Confluence Cloud, it asks which users may use the site (by email),
and says whom it could not ask (hidden emails); --users-csv FILE then
writes those without access as a CSV with the columns of Atlassian's user
import (Username, First Name, Last Name, Email Address: see
confluence.atlassian.com/cloud/import-users-and-groups-744721626.html), to
invite them at admin.atlassian.com instead of with 'ferry import --invite'.

--extract DIR writes the events as Hive-partitioned Parquet
(DIR/events/kind=ENTITY/archive=ID/), the blobs' index (DIR/blobs/), and the
same views in SQL for DuckDB (views.sql), Spark SQL (views.spark.sql) and
Trino (views.trino.sql), for audits on the engines an organization already
runs (spec/INSPECT.md). DIR must be new or empty; it appears complete or not
at all.

Several archives of one chain (a full archive, then its increments, in order)
are queried as one log. 'ferry inspect diff A B' lists what differs between
two full archives (or sites), entity by entity.

DuckDB runs in a private temporary folder that it may spill to, within
--memory-limit, and a query that runs past --timeout is stopped.

The first call on an archive checks its event segments and keeps the
checked copies, with DuckDB's views over them, in a cache of your own
($XDG_CACHE_HOME/ferry/inspect, else ~/.cache/ferry/inspect; up to 4 GB,
least recently used first out), so later calls start as fast as DuckDB over
plain files; the summary, computed once, is kept there too. An entry is
found only for the same archive contents (the SHA-256 of its header and
manifest) and the same ferry. Encrypted archives
are never cached. --no-cache reads the archive afresh and keeps nothing;
'ferry verify' checks the archive file itself.`,
		Example: `  ferry inspect site.ferry
  ferry inspect site.ferry --sql "SELECT space_key, count(*) FROM pages GROUP BY 1 ORDER BY 2 DESC"
  ferry inspect site.ferry --sql "SELECT * FROM users" --out users.csv
  ferry inspect full.ferry week1.ferry week2.ferry --sql "SELECT count(*) FROM pages"
  ferry inspect site.ferry --against copy.db
  ferry inspect full.ferry week1.ferry --extract audit/
  ferry inspect diff january.ferry february.ferry`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 && args[0] == "diff" && len(args) != 3 {
				return usageError("inspect diff takes two archives, A B; got %d (see 'ferry inspect --help')", len(args)-1)
			}
			if len(args) == 0 {
				return usageError("inspect takes one or more archives (see 'ferry inspect --help')")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] == "diff" {
				readOpts, err := o.keys.readOptions()
				if err != nil {
					return err
				}
				return runCompare(cmd.Context(), args[1:], o.format, 30, readOpts)
			}
			allowed := []string{"text", "json"}
			if o.query != "" {
				allowed = []string{"table", "csv", "json"}
				if o.format == "text" {
					o.format = "table"
				}
			}
			if err := checkFormat(o.format, allowed...); err != nil {
				return err
			}
			if o.extract != "" && (o.query != "" || o.schema || o.against != "" || o.report != "") {
				return usageError("--extract writes the archive's events for other engines; give it alone, without --sql, --schema, --against or --report")
			}
			if o.out != "" && o.query == "" {
				return usageError("--out saves the result of --sql; give --sql too")
			}
			if o.against != "" && len(args) > 1 {
				return usageError("--against takes one archive")
			}
			if o.usersCSV != "" && !isCloudURL(o.against) {
				return usageError("--users-csv lists whom to invite into Confluence Cloud: give --against https://SITE.atlassian.net too")
			}
			return runInspect(cmd.Context(), o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "text", "summary: text or json; --sql results: table, csv or json (one object per line)")
	f.StringVar(&o.query, "sql", "", "read-only SQL over the archive's views: a query, or a script of several separated by ; (each query's result is printed in turn)")
	f.StringVar(&o.out, "out", "", "save the result of the query that ends --sql to FILE.parquet, FILE.csv or FILE.json instead of printing it")
	f.BoolVar(&o.schema, "schema", false, "list the views and their columns")
	f.StringVar(&o.extract, "extract", "", "write the events as Hive-partitioned Parquet, the blobs' index and the views' SQL into this new folder")
	f.StringVar(&o.against, "against", "", "plan an import into this site without writing to it")
	f.StringVar(&o.usersCSV, "users-csv", "", "with --against a Cloud site: write the users without access to it to FILE, as Atlassian's user import takes them")
	f.StringVar(&o.report, "report", "", "write a self-contained HTML report (with the --against review when given)")
	f.DurationVar(&o.timeout, "timeout", 5*time.Minute, "stop a query (and the summary) that runs longer than this")
	f.BoolVar(&o.noCache, "no-cache", false, "check and copy the archive's segments afresh, and keep nothing after")
	f.StringVar(&o.memoryLimit, "memory-limit", inspect.DefaultMemoryLimit, "the most memory DuckDB may use (as DuckDB writes it: 500MB, 2GB); larger results spill to a temporary folder")
	o.keys.addIdentity(f)
	o.keys.addCredentials(f)
	return cmd
}

// config is how inspect opens archives: through the user's cache unless
// --no-cache, or when there is no cache folder to use.
func (o *inspectOptions) config() inspect.Config {
	cfg := inspect.Config{Read: o.readOpts, MemoryLimit: o.memoryLimit}
	if dir, err := os.UserCacheDir(); err == nil && !o.noCache {
		cfg.CacheDir = filepath.Join(dir, "ferry", "inspect")
	}
	return cfg
}

func runInspect(ctx context.Context, o *inspectOptions, paths []string) error {
	var err error
	if o.readOpts, err = o.keys.readOptions(); err != nil {
		return err
	}
	if o.timeout <= 0 {
		return usageError("--timeout must be positive, such as 30s or 10m")
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	err = inspectWithin(ctx, o, paths)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("stopped after --timeout %s: the query ran longer; give a longer --timeout, or narrow the query", o.timeout)
	}
	return err
}

// closeInspector closes in, or, when the process exits next, leaves
// DuckDB to the exit (Inspector.Leave).
func closeInspector(in *inspect.Inspector) {
	if exitsNext() {
		in.Leave()
	} else {
		in.Close()
	}
}

func inspectWithin(ctx context.Context, o *inspectOptions, paths []string) error {
	for _, p := range paths {
		if err := openReadable(p, o.readOpts); err != nil {
			return err
		}
	}
	if o.report != "" {
		return writeReport(ctx, o, paths)
	}
	if o.against != "" {
		return inspectAgainst(ctx, o, paths[0])
	}
	path := strings.Join(paths, " + ")
	in, err := inspect.OpenConfig(ctx, o.config(), paths...)
	if err != nil {
		return err
	}
	defer closeInspector(in)
	switch {
	case o.schema:
		cols, err := in.Schema(ctx)
		if err != nil {
			return err
		}
		if o.format == "json" {
			return json.NewEncoder(os.Stdout).Encode(cols)
		}
		view := ""
		for _, c := range cols {
			if c.View != view {
				view = c.View
				printf("%s\n", view)
			}
			printf("  %-22s %s\n", c.Name, c.Type)
		}
		return nil
	case o.query != "":
		return inspectSQL(ctx, in, o)
	case o.extract != "":
		x, err := in.Extract(ctx, o.extract)
		if err != nil {
			return err
		}
		if o.format == "json" {
			return json.NewEncoder(os.Stdout).Encode(x)
		}
		printf("extracted %d events (%d kinds) and the index of %d blobs to %s\n", x.Events, x.Kinds, x.Blobs, o.extract)
		printf("views: %s (DuckDB: run it in the folder), %s\n", filepath.Join(o.extract, x.Files[0]), strings.Join(x.Files[1:], ", "))
		return nil
	}
	s, err := in.Summarize(ctx)
	if err != nil {
		return err
	}
	if o.format == "json" {
		return json.NewEncoder(os.Stdout).Encode(s)
	}
	printSummary(path, s)
	return nil
}

func inspectSQL(ctx context.Context, in *inspect.Inspector, o *inspectOptions) error {
	stmts := inspect.Statements(o.query)
	if len(stmts) == 0 {
		return usageError(`--sql holds no statement: give a query, such as --sql "SELECT count(*) FROM pages"`)
	}
	// Setup statements (CREATE TEMP VIEW, SET VARIABLE: inspect.IsSetup)
	// run and print nothing. Each query's result is printed in turn,
	// tables and CSV set apart by a blank line, JSON rows simply following
	// each other; with --out, the last statement's is saved.
	printed := 0
	for i, stmt := range stmts {
		named := func(err error) error {
			if err != nil && len(stmts) > 1 {
				return fmt.Errorf("statement %d of %d: %w", i+1, len(stmts), err)
			}
			return err
		}
		setup, err := in.IsSetup(ctx, stmt)
		if err != nil {
			return named(err)
		}
		last := i == len(stmts)-1
		switch {
		case setup && last && o.out != "":
			return usageError("--out saves the result of the last statement of --sql, and statement %d of %d is not a query: end the script with the query to save", i+1, len(stmts))
		case setup:
			if err := in.Exec(ctx, stmt); err != nil {
				return named(err)
			}
		case o.out != "" && !last:
			return usageError("--out saves one query's result, and statement %d of %d is a query before the last: save each query with a call of its own (statements before it may only prepare, as CREATE TEMP VIEW does)", i+1, len(stmts))
		case o.out != "":
			return named(saveSQL(ctx, in, stmt, o))
		default:
			if printed > 0 && o.format != "json" {
				printf("\n")
			}
			printed++
			if err := printSQL(ctx, in, stmt, o.format); err != nil {
				return named(err)
			}
		}
	}
	return nil
}

func printSQL(ctx context.Context, in *inspect.Inspector, stmt, format string) error {
	rows, err := in.Query(ctx, stmt)
	if err != nil {
		return err
	}
	defer rows.Close()
	_, err = writeRows(rows, os.Stdout, format)
	return err
}

// saveSQL writes a query's result to --out, whole or not at all.
func saveSQL(ctx context.Context, in *inspect.Inspector, stmt string, o *inspectOptions) error {
	var format string
	switch strings.ToLower(filepath.Ext(o.out)) {
	case ".parquet":
		if err := in.Save(ctx, stmt, o.out); err != nil {
			return err
		}
		printf("saved to %s\n", o.out)
		return nil
	case ".csv":
		format = "csv"
	case ".json", ".ndjson":
		format = "json"
	default:
		return usageError("--out %s: give a .parquet, .csv or .json file", o.out)
	}
	rows, err := in.Query(ctx, stmt)
	if err != nil {
		return err
	}
	defer rows.Close()
	tmp := o.out + ".partial"
	file, err := createPrivate(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	n, err := writeRows(rows, file, format)
	if err != nil {
		file.Close()
		return err
	}
	if err := file.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, o.out); err != nil {
		return err
	}
	printf("%d rows saved to %s\n", n, o.out)
	return nil
}

// writeRows streams rows as a table, CSV, or JSON objects one per line,
// each value as DuckDB writes it (inspect.Value).
func writeRows(rows *sql.Rows, w io.Writer, format string) (int, error) {
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	colTypes, err := rows.ColumnTypes()
	if err != nil {
		return 0, err
	}
	types := make([]string, len(colTypes))
	for i, t := range colTypes {
		types[i] = t.DatabaseTypeName()
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var tw *tabwriter.Writer
	var cw *csv.Writer
	enc := json.NewEncoder(w)
	switch format {
	case "table":
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(cols, "\t"))
	case "csv":
		cw = csv.NewWriter(w)
		cw.Write(cols)
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		n++
		switch format {
		case "json":
			obj := make(map[string]any, len(cols))
			for i, c := range cols {
				obj[c] = inspect.Value(vals[i], types[i])
			}
			if err := enc.Encode(obj); err != nil {
				return n, err
			}
		default:
			cells := make([]string, len(cols))
			for i, v := range vals {
				cells[i] = inspect.Text(inspect.Value(v, types[i]))
				if tw != nil {
					cells[i] = oneLine(cells[i]) // a table on a terminal; CSV keeps the data as it is
				}
			}
			if tw != nil {
				fmt.Fprintln(tw, strings.Join(cells, "\t"))
			} else {
				cw.Write(cells)
			}
		}
	}
	if tw != nil {
		tw.Flush()
	}
	if cw != nil {
		cw.Flush()
		if err := cw.Error(); err != nil {
			return n, err
		}
	}
	return n, rows.Err()
}

func printSummary(path string, s *inspect.Summary) {
	printf("%s: archive %s (format %s)\n", path, oneLine(s.ArchiveID), oneLine(s.Version))
	if s.ParentID != "" {
		printf("  continues archive %s (incremental)\n", s.ParentID)
	}
	printf("  source     %s %s (site %s)\n", oneLine(fmt.Sprint(s.Source["kind"])), oneLine(fmt.Sprint(s.Source["location"])), oneLine(fmt.Sprint(s.Source["site_id"])))
	if s.Source["visibility"] == "limited" {
		printf("  NOT THE WHOLE SITE: %s\n", oneLine(s.Limits))
	}
	printf("  written    %s\n", s.Created.Format(time.RFC3339))
	printf("  history    %s .. %s\n", s.FirstEvent.Format("2006-01-02"), s.LastEvent.Format("2006-01-02"))
	printf("  events     %d, of which %d copied as they are\n", s.Events, s.Copied)
	for _, k := range slices.Sorted(maps.Keys(s.ByKind)) {
		printf("    %-18s %d\n", k, s.ByKind[k])
	}
	printf("not copied, or not always:\n")
	for _, l := range s.NotCopied {
		what := l.Reason
		if l.Condition != "" {
			what = "when " + l.Condition + ": " + l.Reason
		}
		printf("  %7d %-16s (%s) %s\n", l.Events, l.Kind, l.Copy, what)
	}
	if len(s.Held) > 0 {
		printf("held by the source and not copied, or copied otherwise:\n")
		for i, l := range s.Held {
			if i == 20 {
				printf("  ... and %d more lines (--format json, or --sql over events where entity = 'source')\n", len(s.Held)-20)
				break
			}
			printf("  %7d %-24s %s\n", l.Objects, l.Class, l.Reason)
		}
	}
	p := s.Personal
	printf("personal data: %d users (%d with an email address, %d inactive or deleted); %d versions mention users\n",
		p.Users, p.WithEmail, p.Inactive, p.Mentioning)
	if p.EmailHidden > 0 {
		printf("  %d users' emails were hidden by their profiles at the source: they are known by account id only, matched by it (or by --map), and cannot be invited or checked by email\n", p.EmailHidden)
	}
	printf("  held in: %s\n", strings.Join(p.Fields, "; "))
	if len(s.Apps) > 0 {
		printf("apps whose data is not copied (install them at the destination):\n")
		for _, a := range s.Apps {
			printf("  %-50s %-22s %d data records\n", a.Key, a.Name, a.DataRecords)
		}
	}
	printf("attachments: %d bytes of content", s.BlobBytes)
	if len(s.Largest) > 0 {
		printf("; largest:\n  %12s  %s\n", "bytes", "space/file name (attachment id)")
	} else {
		printf("\n")
	}
	for _, a := range s.Largest {
		printf("  %12d  %s/%s (%s)\n", a.Size, a.Space, a.Filename, a.ID)
	}
	if len(s.OverLimit) > 0 {
		printf("%d attachment(s) over Confluence Cloud's 2 GB upload limit: they cannot be copied to Cloud\n", len(s.OverLimit))
	} else {
		printf("no attachment is over Confluence Cloud's 2 GB upload limit\n")
	}
}

// writeReport writes the HTML report under a temporary name, then renames it.
func writeReport(ctx context.Context, o *inspectOptions, paths []string) error {
	var review *inspect.Review
	if o.against != "" {
		rep, err := planAgainst(ctx, o.against, paths[0], o.readOpts, &o.keys)
		if err != nil {
			return err
		}
		review = &inspect.Review{Site: o.against, Conflicts: rep.Conflicts, Linked: len(rep.Linked), NewBillable: rep.NewBillable, MissingApps: rep.MissingApps}
		if c := rep.Kinds["user"]; c != nil {
			review.NewAccounts = c.Created
		}
		if isCloudURL(o.against) {
			n := peopleCounts(rep)
			review.People = []inspect.Count{
				{Label: "users whose access could not be checked (email hidden)", N: n[importer.AccessUnchecked]},
				{Label: "users without access (an invitation grows the bill)", N: n[importer.AccessNone]},
				{Label: "users with access whose account id is unknown (need a --map line)", N: n[importer.AccessNeedsMap]},
				{Label: "users who cannot be matched (no account, no email)", N: n[importer.AccessUnmatched]},
			}
		}
		for _, m := range rep.Merges {
			review.Merges = append(review.Merges, fmt.Sprintf("group %s merges: %d destination members gain the source group's access, %d source members gain the destination group's",
				m.Group, len(m.DestinationMembersGain), len(m.SourceMembersGain)))
		}
	}
	in, err := inspect.OpenConfig(ctx, o.config(), paths...)
	if err != nil {
		return err
	}
	defer closeInspector(in)
	s, err := in.Summarize(ctx)
	if err != nil {
		return err
	}
	if err := writePrivate(o.report, func(w io.Writer) error { return in.WriteReport(ctx, w, s, review) }); err != nil {
		return err
	}
	printf("report written to %s\n", o.report)
	return nil
}

// planAgainst runs the import planner against a site without writing.
func planAgainst(ctx context.Context, against, path string, readOpts []archive.ReadOption, keys *keyFlags) (*importer.Report, error) {
	a, err := importer.OpenArchive(path, importer.Options{Read: readOpts})
	if err != nil {
		return nil, err
	}
	defer a.Close()
	if strings.HasPrefix(against, "http://") || strings.HasPrefix(against, "https://") {
		// Confluence Cloud: the preflight and bill review of an import,
		// reading only (its conflicts stop nothing here).
		c, err := keys.connect(ctx, against)
		if err != nil {
			return nil, fmt.Errorf("--against %s: %w", cloud.RedactURL(against), err)
		}
		return importer.RunCloudArchive(ctx, a, c, importer.DefaultJournal(against), importer.Options{DryRun: true, OnConflict: importer.Skip, Read: readOpts, AllowMissingApps: true})
	}
	// A site that does not exist yet is a valid target: the plan is made
	// against an empty one, and nothing is created.
	dest, closer, err := importer.OpenPlanDestination(against)
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return importer.RunArchive(ctx, a, dest, importer.Options{DryRun: true, OnConflict: importer.Rename, Read: readOpts, AllowMissingApps: true})
}

// inspectAgainst plans an import into a site with a dry run and shows it
// as a review.
func inspectAgainst(ctx context.Context, o *inspectOptions, path string) error {
	rep, err := planAgainst(ctx, o.against, path, o.readOpts, &o.keys)
	if err != nil {
		return err
	}
	if o.format == "json" {
		if o.usersCSV != "" {
			if _, err := writeUsersCSV(o.usersCSV, rep); err != nil {
				return err
			}
		}
		return json.NewEncoder(os.Stdout).Encode(rep)
	}
	printf("review of importing %s into %s (nothing was written):\n", path, o.against)
	printf("  space key conflicts: %d\n", len(rep.Conflicts))
	for _, c := range rep.Conflicts {
		printf("    %s\n", c)
	}
	printf("  apps installed at the source and missing at the destination: %d (import stops unless --allow-missing-apps)\n", len(rep.MissingApps))
	for _, a := range rep.MissingApps {
		printf("    %s\n", a)
	}
	users := rep.Kinds["user"]
	if isCloudURL(o.against) { // the preflight's review of the people
		printPeopleReview(rep, "  ")
		if o.usersCSV != "" {
			n, err := writeUsersCSV(o.usersCSV, rep)
			if err != nil {
				return err
			}
			printf("  %d user(s) to invite written to %s\n", n, o.usersCSV)
		}
		printf("\nwhat the import would do (spaces whose keys are in use left out, as --on-conflict skip does):\n")
		printImportReport(rep)
		return nil
	}
	if users == nil {
		users = &importer.Counts{}
	}
	printf("  users linked to existing accounts by email: %d\n", len(rep.Linked))
	printf("  new accounts: %d, of which %d join groups: the destination's bill grows by %d users where those groups give product access\n",
		users.Created, rep.NewBillable, rep.NewBillable)
	if len(rep.Merges) == 0 {
		printf("  no group merges (import merges same-named groups only with --merge-groups)\n")
	}
	for _, d := range rep.Duplicates {
		printf("  duplicate email: %s\n", d)
	}
	printf("\nwhat the import would do (conflicts shown as --on-conflict rename would resolve them):\n")
	printImportReport(rep)
	return nil
}

// isCloudURL says whether a site names Confluence Cloud (or a sandbox).
func isCloudURL(site string) bool {
	return strings.HasPrefix(site, "http://") || strings.HasPrefix(site, "https://")
}

// writePrivate writes a file only its owner may read, under a temporary
// name first, renamed once whole: nothing half-written is left at path.
func writePrivate(path string, write func(io.Writer) error) error {
	tmp := path + ".partial"
	f, err := createPrivate(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// createPrivate creates (or truncates) a file only its owner may read, as
// archives are: what inspect writes holds the archive's personal data.
func createPrivate(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err == nil {
		err = f.Chmod(0o600) // it may have existed with another mode
	}
	return f, err
}
