package inspect

import (
	"fmt"
	"strings"
)

// viewDocs says what each view holds.
var viewDocs = map[string]string{
	"events":            "every event of the archive: the envelope of spec/ARCHIVE.md with the payload as JSON, then the typed columns of spec/EVENTS.md (title, status, subtype, bytes, mentions, principal_type, principal_id, app), which are fast to query",
	"users":             "each user's latest state: account id, email, name, status, type",
	"groups":            "groups that exist at the end of the archive",
	"memberships":       "who is in which group at the end of the archive",
	"spaces":            "spaces at the end of the archive, with key, name, type and status",
	"space_permissions": "who may do what in which space",
	"pages":             "pages at the end of the archive: latest title, status, number of versions, body size in bytes",
	"page_versions":     "every version of every page, with its body, its format (storage, or wiki for old wiki markup), its size in bytes and how many users it mentions",
	"blogposts":         "blog posts, as pages",
	"folders":           "folders (Confluence Cloud's): pages without a body in the page tree, as pages; title is the last one",
	"comments":          "comments with their container, thread parent, location (footer or inline) and number of versions",
	"attachments":       "attachments with their latest size, total bytes over all versions and content digest",
	"labels":            "labels on pages and blog posts",
	"restrictions":      "read and update restrictions on content",
	"apps":              "installed apps and how much data they keep (neither is copied)",
	"scope":             "every event with whether import copies it (yes, no, conditional), the condition and the reason: the scope table of spec/EVENTS.md, which import applies",
}

// SchemaDoc renders spec/INSPECT.md from the views' columns.
func SchemaDoc(cols []Column) string {
	var b strings.Builder
	b.WriteString(`# ferry inspect: the views

<!-- Rendered from inspect/views.go by 'go test ./inspect -run TestInspectDoc -update'.
     Do not edit by hand. -->

` + "`ferry inspect ARCHIVE --sql QUERY`" + ` runs DuckDB SQL over these views, offline. They are built
over the archive's event segments, checked against their SHA-256 as they are
copied out; blobs are never read. The first call on an archive keeps the
checked copies, and a read-only DuckDB database of the views, in the user's
cache ($XDG_CACHE_HOME/ferry/inspect, up to 4 GB, least recently used out),
named by the SHA-256 of the archive's header and manifest, ferry's views and
DuckDB's version; later calls open that directly. The entry also keeps
the summary once computed, with the stat of the ferry executable that
computed it, so a later summary by the same ferry starts no DuckDB at all
and one built again computes it afresh. The archive's identity
is remembered with its file's device, inode, size and times, so an
unchanged file is not read again to find its entry; a file written to or
replaced since is identified afresh. A cached file that changed
is noticed and the entry made again; encrypted archives are never kept;
` + "`--no-cache`" + ` reads the archive afresh and keeps nothing. Once the views
exist, DuckDB's external access, extension loading and configuration are
locked: a query reads the archive's events and nothing else, and writes only
into ferry's own folders.

Views that describe entities give their state at the end of the archive: the
last event about each, unless that event removed it. For an incremental
archive that is the state of what changed, not of the whole site.

The column ` + "`at`" + ` (when something happened) is an SQL keyword: write it in double
quotes, ` + "`SELECT \"at\" FROM events`" + `. A query that runs past ` + "`--timeout`" + ` (5 minutes
unless given) is stopped, and DuckDB works within ` + "`--memory-limit`" + ` (1GB unless
given), spilling to a temporary folder of ferry's own. A query that only
filters and counts events streams them in constant memory; one over a view of
latest states (` + "`pages`, `attachments`, `latest`" + `, ...) holds a group per entity
while it runs, about 120 bytes per page (measured: a ` + "`pages`" + ` query peaks at 74
MiB at 40,000 pages and 114 MiB at 400,000), so an archive of tens of millions
of pages reaches the limit and spills, or is better read through ` + "`--extract`" + `
by an engine of many machines. A review script of
several statements, separated by semicolons, runs in one call, and each
query's result is printed in turn. Statements that only prepare the session
(` + "`CREATE TEMP VIEW`" + `, ` + "`CREATE TEMP MACRO`" + `, ` + "`SET VARIABLE`" + `, an ` + "`INSERT`" + ` into a
temporary table) print nothing; the archive's views cannot change, so what a
script creates is temporary. ` + "`--out`" + ` saves the query that ends a script, after
the statements that prepare it.
Values print as DuckDB writes them (a DATE as 2024-01-02, an INTERVAL as
1 month 2 days, a UUID as text); in JSON, DECIMAL and HUGEINT are exact
numbers, and lists and structs keep their shape, as they do in a table's
cells, written as JSON.

`)
	view := ""
	for _, c := range cols {
		if c.View != view {
			view = c.View
			fmt.Fprintf(&b, "\n## `%s`\n\n%s.\n\n| column | type |\n|---|---|\n", view, viewDocs[view])
		}
		fmt.Fprintf(&b, "| `%s` | %s |\n", c.Name, c.Type)
	}
	b.WriteString(extractDoc)
	return b.String()
}

// extractDoc is the section on --extract.
const extractDoc = "\n## Audits past one machine: `--extract`\n\n" +
	"An organization with hundreds of archives, or billions of events, outgrows one\n" +
	"DuckDB. `ferry inspect ARCHIVE... --extract DIR` writes what the views above read\n" +
	"as plain files, for the engines such organizations already run:\n\n" +
	"| path | what |\n|---|---|\n" +
	"| `events/kind=ENTITY/archive=ID/*.parquet` | the events of one archive or a chain, Hive-partitioned by entity kind and archive id; the columns of `events` above, `entity` and `archive` in the path, `payload` as JSON text |\n" +
	"| `blobs/blobs.parquet` | every blob of every archive, from its manifest: `archive`, `digest` (SHA-256 of the content), `member`, `stored_bytes`, `content_bytes`, `compressed`, `encrypted`; never the contents |\n" +
	"| `views.sql` | the views above, for DuckDB |\n" +
	"| `views.spark.sql` | the same, for Spark SQL 3.3 or later |\n" +
	"| `views.trino.sql` | the same, for Trino with a Hive catalog |\n\n" +
	"The folder must be new or empty; it appears complete or not at all, readable by\n" +
	"its owner only (it holds personal data, as the archive does). The views files\n" +
	"differ only where the engines do: DuckDB's `payload->>'key'` is Spark's\n" +
	"`get_json_object(payload, '$.key')` and Trino's `json_extract_scalar`; `arg_max`\n" +
	"is `max_by`; Spark quotes identifiers with backticks.\n\n" +
	"- **DuckDB**: `cd DIR && duckdb -init views.sql`, or from anywhere after\n" +
	"  `SET file_search_path = 'DIR'`. For object storage, put the folder's URL before\n" +
	"  `events/` and `blobs/` in the two views that read files. `go test ./inspect -run\n" +
	"  TestExtractAnswersAsInspect` checks that a plain DuckDB gives, through\n" +
	"  `views.sql`, the same answers as `ferry inspect` for the summary and every view.\n" +
	"- **Spark SQL**: copy the folder to storage Spark reads, then\n" +
	"  `spark-sql -d DIR=s3a://bucket/prefix -f views.spark.sql`; the views are\n" +
	"  temporary, for that session. Spark finds the partitions itself.\n" +
	"- **Trino**: with a Hive catalog, replace `DIR` in `views.trino.sql` with the\n" +
	"  folder's location and `ferry` with the schema to hold the tables, `USE` that\n" +
	"  schema, and run the file: it creates external tables over `events/` and\n" +
	"  `blobs/`, registers the partitions (`system.sync_partition_metadata`) and\n" +
	"  creates the views. Run it again after adding archives' folders.\n\n" +
	"The Spark and Trino files are written from those engines' documentation and\n" +
	"checked for DuckDB-only syntax (`TestViewsInOtherDialects`); no Spark or Trino\n" +
	"runs where ferry is built, so they have not been run against one.\n"
