package importer

// Attachments into Cloud: each version uploaded from its blob, after the
// one before it.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"time"

	"ferry/model"
)

// cloudUploadLimit is the largest request body Confluence Cloud takes.
const cloudUploadLimit = 2 << 30

// attachmentVersion uploads one version of an attachment, from its blob,
// when the destination has the one before it and not this one.
func (ci *cloudImport) attachmentVersion(v *model.AttachmentVersion, counts *Counts) error {
	a := ci.attachments[v.AttachmentID]
	if meta, ok := ci.j.lookup(ci.site, "attachment", v.AttachmentID); a == nil && ok {
		a = &model.Attachment{}
		json.Unmarshal([]byte(meta), a)
	}
	if a == nil {
		counts.Skipped++
		ci.report.Skipped["attachment version whose attachment was not seen in this archive"]++
		return nil
	}
	container, ok := ci.j.lookup(ci.site, "content", a.ContainerID)
	kind, _ := ci.j.lookup(ci.site, "content-kind", a.ContainerID)
	if !ok || kind == "" {
		counts.Skipped++
		ci.report.Skipped["on content that was not written"]++
		return nil
	}
	if v.Size > cloudUploadLimit {
		counts.NotCopied++
		ci.report.NotCopied[fmt.Sprintf("attachment version over Confluence Cloud's 2 GB upload limit (%s version %d, %d bytes)", a.Filename, v.Number, v.Size)]++
		return nil
	}
	key := "attachment:" + container + "/" + a.Filename
	have := func(askSite bool) (int, error) {
		if k, ok := ci.known[key]; ok && !askSite { // this run's last upload
			return k, nil
		}
		if _, fresh := ci.known["created:"+container]; fresh && !askSite {
			return 0, nil // this run made the page, and has uploaded no such file to it
		}
		var list struct {
			Results []struct{ Version struct{ Number int } }
		}
		err := ci.c.Get(ci.ctx, "/wiki/api/v2/"+kind+"/"+container+"/attachments", url.Values{"filename": {a.Filename}}, &list)
		if err != nil || len(list.Results) == 0 {
			return 0, err
		}
		return list.Results[0].Version.Number, nil
	}
	n, err := have(false)
	switch {
	case err != nil:
		return err
	case n >= v.Number:
		counts.Unchanged++
		return nil
	case n != v.Number-1:
		return fmt.Errorf("attachment %s is at version %d at the destination, so version %d cannot follow", a.Filename, n, v.Number)
	}
	comment := fmt.Sprintf("ferry: version %d by %s at %s", v.Number, v.Author, v.At.UTC().Format(time.RFC3339))
	if v.Comment != "" {
		comment += ": " + v.Comment
	}
	open := func() (io.ReadCloser, error) { return ci.f.OpenBlob(v.Blob) }
	err = writeChecked(func() error {
		return ci.c.Upload(ci.ctx, "PUT", "/wiki/rest/api/content/"+container+"/child/attachment", a.Filename, mediaTypeOf(a, v), comment, open, nil)
	}, func() (bool, error) {
		n, err := have(true)
		return n >= v.Number, err
	})
	if err != nil {
		return err
	}
	ci.remember(key, v.Number)
	counts.Created++
	return nil
}

// mediaTypeOf is an attachment version's media type, else its attachment's.
func mediaTypeOf(a *model.Attachment, v *model.AttachmentVersion) string {
	if v.MediaType != "" {
		return v.MediaType
	}
	return a.MediaType
}
