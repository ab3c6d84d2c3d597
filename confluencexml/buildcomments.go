package confluencexml

import (
	"ferry/embedded"
	"ferry/model"
)

func (b *builder) buildComments() error {
	if err := b.fillTree("Comment"); err != nil {
		return err
	}
	return b.eachHistory("Comment", func(o *Object, versions []version) error {
		container := containerOf(o)
		if b.content[container.ID] == "" {
			b.rep.skipObject(o, "Comment", "on content ferry does not copy or the export lacks: not copied", "on "+container.Class+" "+container.ID)
			return nil
		}
		cm := model.Comment{ID: o.ID, ContainerID: container.ID, Location: "footer", Status: contentStatus(o.Props["contentStatus"]),
			Author: b.user(o, "creator", "creatorName"), CreatedAt: b.dateOf(o, "creationDate")}
		if p := o.Refs["parent"].ID; p != "" {
			if b.comments[p] {
				cm.ParentID = p
			} else {
				b.rep.skipObject(o, "Comment.parent", "the comment it replies to is not copied: it becomes a top-level comment", "replies to "+p)
			}
		}
		if sel, ok, err := b.prop(o.ID, "inline-original-selection"); err != nil {
			return err
		} else if ok {
			marker, _, _ := b.prop(o.ID, "inline-marker-ref")
			cm.Location = "inline"
			cm.Anchor = &model.InlineAnchor{Selection: sel, MarkerRef: marker}
		}
		var vs []model.Version
		for _, v := range versions {
			if !b.published(o, v.Object, "Comment") {
				continue
			}
			body, wiki := v.body, v.wiki
			mv := model.Version{ContentID: o.ID, Number: len(vs) + 1, Body: body, Author: b.user(v.Object, "lastModifier", "lastModifierName"),
				At: b.dateOf(v.Object, "lastModificationDate")}
			if mv.Author == "" {
				mv.Author = cm.Author
			}
			if mv.At.Equal(zeroTime) {
				mv.At = cm.CreatedAt
			}
			if wiki {
				mv.Format = "wiki"
				b.rep.Wiki++
			}
			vs = append(vs, mv)
		}
		b.comments[o.ID] = true
		b.created("comment")
		size := 0
		for _, v := range vs {
			size += len(v.Body)
		}
		return b.queue(size, func(tx *embedded.Tx) error {
			if err := tx.CreateComment(cm); err != nil {
				return err
			}
			for _, v := range vs {
				if err := tx.AddCommentVersion(v); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// containerOf is the content a comment or attachment belongs to, under
// the names exports of different ages give it.
func containerOf(o *Object) Ref {
	for _, name := range []string{"containerContent", "content", "owner"} {
		if r := o.Refs[name]; r.ID != "" {
			return r
		}
	}
	return Ref{Class: "nothing", ID: "(none)"}
}
