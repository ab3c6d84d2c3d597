package inspect

import (
	"fmt"
	"strings"

	"ferry/model"
)

// views are the SQL views a reviewer queries, documented in
// spec/INSPECT.md. Each gives an entity's latest state in the archive:
// the last event about it, unless that event removed it.
var views = []struct{ name, sql string }{
	{"users", `SELECT id AS account_id, payload->>'email' AS email, payload->>'display_name' AS display_name,
		status, subtype AS account_type, coalesce(CAST(payload->>'email_hidden' AS BOOLEAN), false) AS email_hidden
		FROM latest WHERE entity = 'user'`},
	{"groups", `SELECT id, title AS name FROM latest WHERE entity = 'group' AND NOT removed`},
	{"memberships", `SELECT payload->>'group_id' AS group_id, payload->>'account_id' AS account_id FROM latest WHERE entity = 'membership' AND NOT removed`},
	{"spaces", `SELECT id, payload->>'key' AS key, title AS name, subtype AS type, status,
		payload->>'description' AS description, payload->>'homepage' AS homepage, payload->>'author' AS author
		FROM latest WHERE entity = 'space' AND NOT removed`},
	{"space_permissions", `SELECT id, payload->>'space_id' AS space_id, space AS space_key, principal_type,
		principal_id, payload->>'operation' AS operation FROM latest WHERE entity = 'space_permission' AND NOT removed`},
	{"page_versions", `SELECT id AS page_id, space AS space_key, CAST(payload->>'number' AS INTEGER) AS number, title,
		payload->>'body' AS body, coalesce(subtype, 'storage') AS format, bytes AS body_bytes, mentions, actor AS author, "at", payload->>'message' AS message,
		CAST(payload->>'minor_edit' AS BOOLEAN) AS minor_edit FROM events WHERE type = 'page.version'`},
	{"pages", contentView("page")},
	{"blogposts", contentView("blogpost")},
	{"folders", contentView("folder")},
	{"comments", `SELECT c.id, c.parent AS container_id, c.space AS space_key, c.payload->>'parent_id' AS parent_id,
		c.subtype AS location, c.status, c.payload->>'author' AS author, c."at" AS created_at,
		(SELECT count(*) FROM events v WHERE v.type = 'comment.version' AND v.id = c.id) AS versions
		FROM events c WHERE c.type = 'comment.created' AND c.id NOT IN (SELECT id FROM events WHERE type = 'comment.deleted')`},
	{"attachments", `SELECT a.id, a.parent AS container_id, a.space AS space_key, a.title AS filename,
		a.subtype AS media_type, v.versions, v.size, v.total_bytes, v.blob
		FROM events a LEFT JOIN (SELECT id, count(*) AS versions, arg_max(bytes, seq) AS size,
			sum(bytes) AS total_bytes, arg_max(payload->>'blob', seq) AS blob
			FROM events WHERE type = 'attachment.version' GROUP BY id) v USING (id)
		WHERE a.type = 'attachment.created' AND a.id NOT IN (SELECT id FROM events WHERE type = 'attachment.deleted')`},
	{"labels", `SELECT payload->>'container_id' AS container_id, space AS space_key, payload->>'prefix' AS prefix, title AS name
		FROM latest WHERE entity = 'label' AND NOT removed`},
	{"restrictions", `SELECT payload->>'container_id' AS container_id, space AS space_key, payload->>'operation' AS operation,
		principal_type, principal_id FROM latest WHERE entity = 'restriction' AND NOT removed`},
	{"apps", `SELECT id AS key, title AS name, payload->>'vendor' AS vendor, payload->>'version' AS version,
		(SELECT count(*) FROM events d WHERE d.type = 'app_data.recorded' AND d.app = e.id) AS data_records
		FROM latest e WHERE entity = 'app'`},
	{"scope", `SELECT seq, type, entity, id, space,
		CASE WHEN copy = 'conditional' AND NOT (` + conditionApplies + `) THEN 'yes' ELSE copy END AS copied,
		CASE WHEN copy = 'conditional' AND NOT (` + conditionApplies + `) THEN NULL ELSE condition END AS condition,
		reason
		FROM (SELECT e.*, coalesce(t.copy, k.copy, 'no') AS copy, coalesce(t.condition, k.condition) AS condition,
			coalesce(t.reason, k.reason, 'not known to this version of ferry') AS reason
			FROM events e LEFT JOIN scope_rules t ON t.event = e.type LEFT JOIN scope_rules k ON k.event = '' AND k.kind = e.entity) AS s`},
}

// conditionApplies says, per kind, whether an event is one the scope
// table's condition can bite on: an attachment version over 2 GB, a
// permission or restriction for a group. Others of a conditional kind are
// copied as they are.
const conditionApplies = `CASE entity
	WHEN 'attachment' THEN coalesce(bytes, 0) > 2147483648
	WHEN 'space_permission' THEN coalesce(principal_type, '') = 'group'
	WHEN 'restriction' THEN coalesce(principal_type, '') = 'group'
	ELSE true END`

// contentView is the latest state of pages, blog posts or folders.
func contentView(kind string) string {
	return strings.NewReplacer("KIND", kind).Replace(`SELECT c.id, c.space AS space_key, c.parent AS parent_id,
		coalesce(s.status, c.status) AS status, v.title, v.versions, v.body_bytes, c."at" AS created_at,
		c.payload->>'author' AS author
		FROM events c
		LEFT JOIN (SELECT id, arg_max(status, seq) AS status FROM events WHERE type = 'KIND.status' GROUP BY id) s USING (id)
		LEFT JOIN (SELECT id, count(*) AS versions, arg_max(title, seq) AS title, arg_max(bytes, seq) AS body_bytes
			FROM events WHERE type = 'KIND.version' GROUP BY id) v USING (id)
		WHERE c.type = 'KIND.created' AND c.id NOT IN (SELECT id FROM events WHERE type = 'KIND.deleted')`)
}

// removals lists the event types that remove their entity.
func removals() string {
	var types []string
	for _, e := range model.Catalogue {
		if _, ok := e.Payload.(model.Deleted); ok {
			types = append(types, "'"+string(e.Type)+"'")
		}
	}
	return strings.Join(types, ", ")
}

// setupSQL creates the events view with the given statement (see
// eventsView) and every view above it.
func setupSQL(events string) []string {
	stmts := []string{events, "CREATE VIEW latest AS " + latestSQL()}
	var rules []string
	for _, r := range model.Scope {
		rules = append(rules, fmt.Sprintf("(%s, %s, %s, %s, %s)", lit(r.Kind), lit(string(r.Event)), lit(string(r.Copy)), lit(r.Condition), lit(r.Reason)))
	}
	stmts = append(stmts, `CREATE TABLE scope_rules (kind VARCHAR, event VARCHAR, copy VARCHAR, condition VARCHAR, reason VARCHAR)`,
		`INSERT INTO scope_rules VALUES `+strings.Join(rules, ", "))
	for _, v := range views {
		stmts = append(stmts, "CREATE VIEW "+v.name+" AS "+v.sql)
	}
	return stmts
}

// latestSQL is each entity's last event but versions, and whether it
// removed the entity.
func latestSQL() string {
	return fmt.Sprintf(`SELECT *, type IN (%s) AS removed FROM (
		SELECT *, row_number() OVER (PARTITION BY entity, id ORDER BY seq DESC) AS n FROM events
		WHERE type NOT LIKE '%%.version') AS l WHERE n = 1`, removals())
}

func lit(s string) string {
	if s == "" {
		return "''"
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
