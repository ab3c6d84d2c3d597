package confluencexml

import (
	"cmp"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"ferry/embedded"
	"ferry/model"
)

// prop returns a content property's value.
func (b *builder) prop(contentID, name string) (string, bool, error) {
	var v string
	st, err := b.ix.stmt(b.ctx, `SELECT value FROM owned_props WHERE content_id = ? AND name = ? LIMIT 1`)
	if err != nil {
		return "", false, err
	}
	err = st.QueryRowContext(b.ctx, contentID, name).Scan(&v)
	if err == sql.ErrNoRows {
		return "", false, nil
	}
	return v, err == nil, err
}

// safeID is what an id or version number may look like to name a file:
// Confluence's are decimal numbers; no leading dot, so never "." or "..".
var safeID = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$`)

func (b *builder) buildAttachments() error {
	return b.ix.each(b.ctx, `SELECT o.data FROM objects o JOIN versions v ON v.id = o.id AND v.class = o.class
		WHERE o.class = 'Attachment' AND v.orig = o.id ORDER BY o.id`, func(o *Object) error {
		container := containerOf(o)
		if b.content[container.ID] == "" {
			b.rep.skipObject(o, "Attachment", "attached to content ferry does not copy or the export lacks: not copied", "to "+container.Class+" "+container.ID)
			return nil
		}
		if strings.EqualFold(strings.TrimSpace(o.Props["contentStatus"]), "deleted") {
			b.rep.skipObject(o, "Attachment", "deleted (in the trash) at the source: ferry copies live attachments", "")
			return nil
		}
		mediaType, _, _ := b.prop(o.ID, "MEDIA_TYPE")
		if mediaType == "" {
			mediaType = o.Props["contentType"]
		}
		// Older exports name the file "fileName", where later ones say "title"
		// (the forms xwiki-contrib/confluence's importer reads).
		a := model.Attachment{ID: o.ID, ContainerID: container.ID, Filename: cmp.Or(o.Props["title"], o.Props["fileName"]), MediaType: mediaType,
			Author: b.user(o, "creator", "creatorName"), CreatedAt: b.dateOf(o, "creationDate")}
		versions, err := b.history(o, "Attachment")
		if err != nil {
			return err
		}
		b.created("attachment")
		if err := b.update(a.CreatedAt, func(tx *embedded.Tx) error { return tx.CreateAttachment(a) }); err != nil {
			return err
		}
		number := 0
		for _, v := range versions {
			ver := versionOf(v)
			var f io.ReadCloser
			err := checkAttachmentPath(container.ID, o.ID, ver)
			if err == nil {
				f, err = b.files.open(container.ID, o.ID, ver)
			}
			if errors.Is(err, errUnsafePath) || errors.Is(err, errNotRegular) {
				b.rep.skipObject(v, "Attachment.version", "a file that would be read from outside attachments/, or is not a regular file: refused, not read", truncate(err.Error(), 200))
				continue
			}
			if err != nil {
				// One file the export cannot give (a damaged zip member)
				// loses that version, not the conversion.
				b.rep.skipObject(v, "Attachment.version", "the version's file cannot be read from the export: that version is not copied", truncate(err.Error(), 200))
				continue
			}
			if f == nil {
				b.rep.skipObject(v, "Attachment.version", "the export lacks the version's file: that version is not copied", fmt.Sprintf("attachments/%s/%s/%s", container.ID, o.ID, ver))
				continue
			}
			av := model.AttachmentVersion{AttachmentID: o.ID, Number: number + 1, MediaType: mediaType, Comment: v.Props["versionComment"],
				Author: b.user(v, "lastModifier", "lastModifierName"), At: b.dateOf(v, "lastModificationDate")}
			src := &readErr{r: f}
			err = b.update(av.At, func(tx *embedded.Tx) error {
				digest, size, err := tx.PutBlobFrom(src)
				if err != nil {
					return err
				}
				av.Blob, av.Size = digest, size
				return tx.AddAttachmentVersion(av)
			})
			f.Close()
			if err != nil && src.err != nil { // the file broke off (a damaged zip member): rolled back
				b.rep.skipObject(v, "Attachment.version", "the version's file cannot be read from the export: that version is not copied", truncate(src.err.Error(), 200))
				continue
			}
			if err != nil {
				return err
			}
			number++
		}
		return nil
	})
}
