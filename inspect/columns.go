package inspect

import (
	"fmt"
	"sort"
	"strings"

	"ferry/model"
)

// derivedColumns gives, for each typed column of model.Columns, the SQL that
// derives it from the payload: for archives written before export stored
// the columns (and as the read_json baseline of the benchmark). It must
// agree with model.ColumnValues; TestDerivedColumnsMatchExport checks that
// on a generated site that has every event type.
var derivedColumns = map[string]map[model.EventType]string{
	"title": byTypes(map[string][]model.EventType{
		`payload->>'title'`: {model.PageVersion, model.BlogpostVersion, model.CommentVersion, model.FolderVersion},
		`payload->>'name'`: {model.GroupCreated, model.GroupRenamed, model.AppInstalled, model.SpaceCreated, model.SpaceUpdated,
			model.LabelAdded},
		`payload->>'filename'`: {model.AttachmentCreated},
	}),
	"status": byTypes(map[string][]model.EventType{
		`payload->>'status'`: {model.UserCreated, model.UserUpdated, model.SpaceCreated, model.SpaceUpdated, model.PageCreated,
			model.BlogpostCreated, model.PageStatus, model.BlogpostStatus, model.CommentCreated, model.FolderCreated, model.FolderStatus},
	}),
	"subtype": byTypes(map[string][]model.EventType{
		`payload->>'account_type'`: {model.UserCreated, model.UserUpdated},
		`payload->>'type'`:         {model.SpaceCreated, model.SpaceUpdated},
		`payload->>'location'`:     {model.CommentCreated},
		`payload->>'media_type'`:   {model.AttachmentCreated, model.AttachmentVersionAdded},
		`payload->>'format'`:       {model.PageVersion, model.BlogpostVersion, model.CommentVersion},
	}),
	"bytes": byTypes(map[string][]model.EventType{
		`strlen(coalesce(payload->>'body', ''))`:            {model.PageVersion, model.BlogpostVersion, model.CommentVersion, model.FolderVersion},
		`coalesce(TRY_CAST(payload->>'size' AS BIGINT), 0)`: {model.AttachmentVersionAdded, model.AppDataRecorded},
	}),
	"mentions": byTypes(map[string][]model.EventType{
		mentionsSQL(): {model.PageVersion, model.BlogpostVersion, model.CommentVersion, model.FolderVersion},
	}),
	"principal_type": byTypes(map[string][]model.EventType{
		`payload->>'principal_type'`: {model.SpacePermissionGranted, model.RestrictionAdded},
	}),
	"principal_id": byTypes(map[string][]model.EventType{
		`payload->>'principal_id'`: {model.SpacePermissionGranted, model.RestrictionAdded},
	}),
	"app": byTypes(map[string][]model.EventType{
		`payload->>'app_key'`: {model.AppDataRecorded},
	}),
}

// mentionsSQL counts model.MentionMarkers in a body, as model.Mentions does.
func mentionsSQL() string {
	var terms []string
	for _, m := range model.MentionMarkers {
		terms = append(terms, fmt.Sprintf(`(strlen(coalesce(payload->>'body', '')) - strlen(replace(coalesce(payload->>'body', ''), '%s', ''))) // %d`, m, len(m)))
	}
	return "(" + strings.Join(terms, " + ") + ")"
}

func byTypes(exprs map[string][]model.EventType) map[model.EventType]string {
	m := map[model.EventType]string{}
	for expr, types := range exprs {
		for _, t := range types {
			m[t] = expr
		}
	}
	return m
}

// derivedSelect is the SQL list of the typed columns derived from a JSON
// payload column, each a CASE on the event type; empty strings are null,
// as export stores them.
func derivedSelect() string {
	var cols []string
	for _, c := range model.Columns {
		byType := derivedColumns[c.Name]
		types := make([]string, 0, len(byType))
		for t := range byType {
			types = append(types, string(t))
		}
		sort.Strings(types)
		var b strings.Builder
		b.WriteString("CASE type")
		for _, t := range types {
			expr := byType[model.EventType(t)]
			if c.Type == "string" {
				expr = "nullif(" + expr + ", '')"
			}
			fmt.Fprintf(&b, " WHEN '%s' THEN %s", t, expr)
		}
		fmt.Fprintf(&b, " END::%s AS %s", sqlType(c.Type), c.Name)
		cols = append(cols, b.String())
	}
	return strings.Join(cols, ",\n\t\t")
}

func sqlType(t string) string {
	if t == "int64" {
		return "BIGINT"
	}
	return "VARCHAR"
}

// typedColumns lists the typed columns by name, for a SELECT.
func typedColumns() string {
	names := make([]string, len(model.Columns))
	for i, c := range model.Columns {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// envelope is the envelope's columns, with the payload as JSON.
const envelope = `seq, type, entity, id, parent, space, "at", actor, CAST(payload AS JSON) AS payload`

// eventsView creates the events view over segment files: those that store
// the typed columns are read as they are; for the others (older archives)
// the columns are derived from the payload.
func eventsView(typed, untyped []string) string {
	if len(typed)+len(untyped) == 0 {
		return `CREATE TABLE events (seq BIGINT, type VARCHAR, entity VARCHAR, id VARCHAR, parent VARCHAR, space VARCHAR,
			"at" TIMESTAMPTZ, actor VARCHAR, payload JSON, ` + typedColumnDefs() + `)`
	}
	var parts []string
	if len(typed) > 0 {
		parts = append(parts, fmt.Sprintf("SELECT %s, %s FROM read_parquet([%s])", envelope, typedColumns(), quoteList(typed)))
	}
	if len(untyped) > 0 {
		parts = append(parts, fmt.Sprintf("SELECT *, %s FROM (SELECT %s FROM read_parquet([%s]))", derivedSelect(), envelope, quoteList(untyped)))
	}
	return "CREATE VIEW events AS " + strings.Join(parts, "\nUNION ALL ")
}

func quoteList(files []string) string {
	quoted := make([]string, len(files))
	for i, f := range files {
		quoted[i] = "'" + strings.ReplaceAll(f, "'", "''") + "'"
	}
	return strings.Join(quoted, ", ")
}

// typedColumnDefs declares the typed columns, for a CREATE TABLE.
func typedColumnDefs() string {
	defs := make([]string, len(model.Columns))
	for i, c := range model.Columns {
		defs[i] = c.Name + " " + sqlType(c.Type)
	}
	return strings.Join(defs, ", ")
}
