package confluencexml

import (
	"strings"

	"ferry/embedded"
	"ferry/model"
)

func (b *builder) buildLabels() error {
	return b.ix.each(b.ctx, `SELECT data FROM objects WHERE class = 'Labelling' ORDER BY id`, func(o *Object) error {
		label, err := b.ix.get(b.ctx, o.Refs["label"].ID, "Label")
		if err != nil {
			return err
		}
		content := o.Refs["content"]
		switch {
		case label == nil:
			b.rep.skipObject(o, "Labelling", "its label is not in the export", "")
			return nil
		case b.content[content.ID] == "":
			b.rep.skipObject(o, "Labelling", "a label on something other than a page or blog post: not copied", "on "+content.Class+" "+content.ID)
			return nil
		}
		prefix := strings.ToLower(strings.TrimSpace(label.Props["namespace"]))
		if prefix == "" {
			prefix = "global"
		}
		b.created("label")
		return b.queue(0, func(tx *embedded.Tx) error {
			return tx.AddLabel(model.Label{ContainerID: content.ID, Prefix: prefix, Name: label.Props["name"]})
		})
	})
}

func (b *builder) buildRestrictions() error {
	return b.ix.each(b.ctx, `SELECT data FROM objects WHERE class = 'ContentPermission' ORDER BY id`, func(o *Object) error {
		set, err := b.ix.get(b.ctx, o.Refs["owningSet"].ID, "ContentPermissionSet")
		if err != nil {
			return err
		}
		if set == nil || b.content[set.Refs["owningContent"].ID] == "" {
			b.rep.skipObject(o, "ContentPermission", "its permission set or content is not copied", "")
			return nil
		}
		r := model.Restriction{ContainerID: set.Refs["owningContent"].ID, Operation: "read"}
		if strings.EqualFold(set.Props["type"], "Edit") {
			r.Operation = "update"
		}
		switch {
		case o.Props["groupName"] != "":
			r.PrincipalType, r.PrincipalID = "group", b.groups[strings.ToLower(o.Props["groupName"])]
		default:
			r.PrincipalType, r.PrincipalID = "user", b.user(o, "userSubject", "userName")
		}
		if r.PrincipalID == "" {
			b.rep.skipObject(o, "ContentPermission", "granted to a user or group not in the export", "")
			return nil
		}
		b.created("restriction")
		return b.queue(0, func(tx *embedded.Tx) error { return tx.AddRestriction(r) })
	})
}

// attachmentMeta are the properties in which Confluence keeps an
// attachment's media type and size: read with the attachment (its size is
// its file's), not copied as properties, nor reported as left out.
var attachmentMeta = map[string]bool{"MEDIA_TYPE": true, "FILESIZE": true}

// buildProperties copies the content properties of pages and blog posts,
// streaming them from the index into one transaction.
func (b *builder) buildProperties() error {
	skipped := int64(0)
	err := b.update(zeroTime, func(tx *embedded.Tx) error {
		rows, err := b.ix.db.QueryContext(b.ctx, `SELECT content_id, name, value FROM owned_props ORDER BY content_id, name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		var last string
		for rows.Next() {
			var container, name, value string
			if err := rows.Scan(&container, &name, &value); err != nil {
				return err
			}
			if b.content[container] == "" || name == "" {
				if !attachmentMeta[name] {
					skipped++
				}
				continue
			}
			if container+"\x00"+name == last {
				continue // a second value for the same key: the first wins
			}
			last = container + "\x00" + name
			b.created("property")
			if err := tx.SetProperty(model.Property{ContainerID: container, Key: name, Value: jsonString(value), Version: 1}); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if skipped > 0 {
		b.rep.skip("ContentProperty", "", "properties of attachments, comments, or content not copied", skipped)
	}
	return err
}
