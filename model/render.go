package model

import (
	"fmt"
	"reflect"
	"strings"
)

// EventsDoc renders spec/EVENTS.md from Catalogue and Scope, so the
// document cannot drift from the code.
func EventsDoc() string {
	var b strings.Builder
	b.WriteString(eventsIntro)
	b.WriteString("\n## Event types\n\nIn archive order (see above). Each payload is a JSON object; fields marked `?` may be absent.\n\n")
	b.WriteString("| type | payload fields | meaning |\n|---|---|---|\n")
	for _, e := range Catalogue {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", e.Type, fields(reflect.TypeOf(e.Payload)), e.Doc)
	}
	b.WriteString("\n## Typed columns\n\nExport stores these producer columns (spec/ARCHIVE.md §3.2) in every segment after the envelope, derived from the payload, so that queries need not parse JSON. They are null where they do not apply. They repeat what the payload says; import reads only payloads. Archives without them (from earlier versions of ferry) are read by deriving them from the payload (inspect/columns.go), and a test checks that both derivations agree.\n\n")
	b.WriteString("| column | type | holds |\n|---|---|---|\n")
	for _, c := range Columns {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", c.Name, c.Type, c.Doc)
	}
	b.WriteString("\n## Scope: what is copied, and what is not\n\nThe same table drives `ferry inspect` and `ferry import` (`model.Scope`). For an event, the first rule naming its type applies, else the rule naming its kind.\n\n")
	b.WriteString("| kind | event | copied | not copied when | why |\n|---|---|---|---|---|\n")
	for _, r := range Scope {
		ev := "all"
		if r.Event != "" {
			ev = "`" + string(r.Event) + "`"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.Kind, ev, r.Copy, r.Condition, r.Reason)
	}
	return b.String()
}

// fields lists a payload struct's JSON fields with their types.
func fields(t reflect.Type) string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if strings.Contains(opts, "omitempty") || f.Type.Kind() == reflect.Pointer {
			name += "?"
		}
		out = append(out, fmt.Sprintf("`%s` %s", name, typeName(f.Type)))
	}
	return strings.Join(out, ", ")
}

func typeName(t reflect.Type) string {
	switch {
	case t.String() == "time.Time":
		return "time"
	case t.String() == "json.RawMessage":
		return "json"
	case t.Kind() == reflect.Pointer:
		return typeName(t.Elem())
	case t.Kind() == reflect.Slice:
		return typeName(t.Elem()) + "[]"
	case t.Kind() == reflect.Map:
		return "object"
	case t.Kind() == reflect.Struct:
		return "{" + fields(t) + "}"
	}
	return t.Kind().String()
}

const eventsIntro = `# ferry's events

<!-- Rendered from model/events.go and model/scope.go by
     'go test ./model -run TestEventsDoc -update'. Do not edit by hand. -->

An archive (spec/ARCHIVE.md) is a log of events. This document says which
events ferry writes for a Confluence site, what their payloads hold, in what
order they come, and what ferry copies.

## The envelope

| field | for Confluence |
|---|---|
| ` + "`type`" + ` | an event type below, ` + "`entity.verb`" + ` |
| ` + "`entity`" + ` | the part of the type before the dot |
| ` + "`id`" + ` | the entity's id at the source; for a version, the id of the page, blog post or comment; for relations, a composite key (below) |
| ` + "`parent`" + ` | the entity it belongs to: a page's parent page, a comment's or attachment's page, a membership's group, a permission's space |
| ` + "`space`" + ` | the key of the space the entity lives in |
| ` + "`at`" + ` | when it happened at the source |
| ` + "`actor`" + ` | the account that did it |
| ` + "`payload`" + ` | the JSON object listed below |

Times are RFC 3339 in UTC. Bodies are Confluence storage format (XHTML), kept
as they are. Blob digests are the SHA-256 of attachment contents, stored in the
archive under ` + "`blobs/`" + `.

## Order

An entity's events come after those of everything it refers to, so that a
destination can replay an archive from the start without looking ahead:

1. users, groups, memberships, installed apps;
2. then each space in key order: the space, its permissions, its pages and
   folders, one tree (parents before children, each page's or folder's
   versions in version order, moves and status changes after them), its
   blog posts, comments (replies after
   what they reply to) with their versions, attachments with their versions,
   labels, restrictions, content properties, likes, app data;
3. then removals, in the reverse order: what lies inside an entity is
   removed before the entity (app data, likes, properties, restrictions, labels,
   attachments, comments, pages and folders children first, permissions, the space; then
   memberships and groups).

Only references through ids are ordered. Links inside bodies (to pages,
users, attachments) and a space's homepage may point at anything in the
archive and are resolved after the copy.

An incremental archive holds only what changed after its parent's watermark
(creations, new versions, moves, status changes, updates, removals) in the
same order. A full archive followed by its increments describes the site's
final state.

A source without a change feed (Confluence Cloud) keeps, as one blob of each
archive, a record of every entity it read (ids, group names, and
fingerprints of what an update could change; no bodies or emails); the
watermark names that blob. An
increment reads the site again, compares it with the record, and does not
fetch versions or attachment bytes the record says were exported.
`
