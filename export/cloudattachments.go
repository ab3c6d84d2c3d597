package export

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"ferry/archive"
	"ferry/model"
)

// OpenBlob opens a downloaded attachment version; it is removed once read.
func (s *CloudSource) OpenBlob(ctx context.Context, digest string) (io.ReadCloser, error) {
	if !archive.IsDigest(digest) {
		return nil, fmt.Errorf("blob %q: not a digest", digest)
	}
	f, err := os.Open(filepath.Join(s.tmp, digest))
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", digest, err)
	}
	return &removeOnClose{f}, nil
}

type removeOnClose struct{ *os.File }

func (r *removeOnClose) Close() error {
	err := r.File.Close()
	os.Remove(r.Name())
	return err
}

// fetch downloads an attachment version into the temporary folder, named
// by its SHA-256.
func (s *CloudSource) fetch(ctx context.Context, link string) (digest string, size int64, err error) {
	body, err := s.Client.Download(ctx, link)
	if err != nil {
		return "", 0, err
	}
	defer body.Close()
	f, err := os.CreateTemp(s.tmp, "download-*")
	if err != nil {
		return "", 0, err
	}
	h := sha256.New()
	size, err = io.Copy(io.MultiWriter(f, h), body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", 0, fmt.Errorf("download %s: %w", link, err)
	}
	digest = hex.EncodeToString(h.Sum(nil))
	return digest, size, os.Rename(f.Name(), filepath.Join(s.tmp, digest))
}

type cloudAttachment struct {
	ID, Title, MediaType, CreatedAt, DownloadLink string
	PageID, BlogPostID                            string
	Version                                       cloudVersion
}

// siteAttachments emits the attachments of the pages and blog posts
// exported, read from the site's list (v2: GET /attachments) in one pass.
func (s *CloudSource) siteAttachments(ctx context.Context, emit func(*model.Change) error) error {
	return s.Client.List(ctx, "/wiki/api/v2/attachments", url.Values{"limit": {"250"}}, func(r json.RawMessage) error {
		var a cloudAttachment
		if err := json.Unmarshal(r, &a); err != nil {
			return err
		}
		container := cmp.Or(a.PageID, a.BlogPostID)
		space, ok, err := s.rec.containerSpace(container)
		if err != nil || !ok {
			return err // not a page or blog post exported
		}
		return s.emitAttachment(ctx, &a, container, space, emit)
	})
}

// emitAttachment emits an attachment and each of its versions, whose bytes
// it downloads first: events name blobs by their SHA-256.
func (s *CloudSource) emitAttachment(ctx context.Context, a *cloudAttachment, container, space string, emit func(*model.Change) error) error {
	att := &model.Attachment{ID: a.ID, ContainerID: container, Filename: a.Title, MediaType: a.MediaType, Author: a.Version.AuthorID, CreatedAt: cloudTime(a.CreatedAt)}
	if same, err := s.rec.unchanged("attachment", a.ID, a.Version.Number); same || err != nil {
		return err
	}
	done, err := s.rec.exported("attachment", a.ID)
	if err != nil {
		return err
	}
	vs := []cloudVersion{a.Version} // the list gave the only one
	if a.Version.Number > 1 {
		if vs, err = s.versionList(ctx, "attachments", a.ID); err != nil || len(vs) == 0 {
			return err
		}
	}
	todo, newest := after(vs, done)
	att.Author = vs[0].AuthorID
	if err := emit(&model.Change{Type: model.AttachmentCreated, ID: a.ID, Parent: container, Space: space, At: att.CreatedAt, Actor: att.Author, Payload: att}); err != nil {
		return err
	}
	// Versions exported before are not downloaded again.
	link, _, _ := strings.Cut(a.DownloadLink, "?")
	err = inOrder(ctx, len(todo), func(ctx context.Context, i int) (*model.AttachmentVersion, error) {
		v := &todo[i]
		digest, size, err := s.fetch(ctx, link+"?version="+fmt.Sprint(v.Number)+"&api=v2")
		if err != nil {
			return nil, err
		}
		return &model.AttachmentVersion{AttachmentID: a.ID, Number: v.Number, Blob: digest, Size: size, MediaType: a.MediaType,
			Comment: v.Message, Author: v.AuthorID, At: cloudTime(v.CreatedAt)}, nil
	}, func(_ int, av *model.AttachmentVersion) error {
		return emit(&model.Change{Type: model.AttachmentVersionAdded, ID: a.ID, Parent: container, Space: space, At: av.At, Actor: av.Author, Payload: av})
	})
	if err != nil {
		return err
	}
	return s.rec.sawVersions("attachment", a.ID, newest)
}
