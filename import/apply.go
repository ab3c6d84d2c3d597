package importer

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"ferry/model"
)

// apply replays the events after seq from, in batches that each commit
// with their checkpoint; a dry run applies all of them in one transaction
// and rolls it back.
func (im *importer) apply(ctx context.Context, dest Destination, from int64) error {
	it := im.f.Events()
	defer it.Close()
	next := func() (int64, *model.Change, bool, error) {
		for it.Next() {
			ev := it.Event()
			if ev.Seq <= from {
				im.report.Applied++ // applied before the import was interrupted
				continue
			}
			payload, err := model.Decode(model.EventType(ev.Type), ev.Payload)
			if err != nil {
				return 0, nil, false, fmt.Errorf("archive %s seq %d: %w", im.archiveID, ev.Seq, err)
			}
			return ev.Seq, &model.Change{Type: model.EventType(ev.Type), ID: ev.ID, Parent: ev.Parent, Space: ev.Space, At: ev.At, Actor: ev.Actor, Payload: payload}, true, nil
		}
		return 0, nil, false, it.Err()
	}
	last := from
	for done := false; !done; {
		err := dest.Update(ctx, func(tx Tx) error {
			im.tx = tx
			for n := 0; im.o.DryRun || n < im.o.BatchEvents; n++ {
				seq, c, ok, err := next()
				if err != nil {
					return err
				}
				if !ok {
					done = true
					break
				}
				if im.o.BeforeEvent != nil {
					if err := im.o.BeforeEvent(seq); err != nil {
						return err
					}
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := im.applyOne(c); err != nil {
					return fmt.Errorf("import seq %d (%s %s): %w", seq, c.Type, c.ID, err)
				}
				last = seq
			}
			if done {
				if err := im.resolveHomepages(); err != nil {
					return err
				}
			}
			if err := tx.Checkpoint(im.archiveID, im.parentID, im.srcSite, last, done); err != nil {
				return err
			}
			if im.o.Progress != nil {
				im.o.Progress(im.report)
			}
			if im.o.DryRun {
				return errRollback
			}
			return nil
		})
		if im.o.DryRun && errors.Is(err, errRollback) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// applyOne applies one change, counting what it did under its kind.
func (im *importer) applyOne(c *model.Change) error {
	kind := c.Type.Kind()
	counts := im.report.kind(kind)
	if rule := model.RuleFor(c.Type); rule.Copy == model.NotCopied {
		counts.NotCopied++
		im.report.NotCopied[kind+": "+rule.Reason]++
		return nil
	}
	if why := im.leftOut(c); why != "" {
		counts.Skipped++
		im.report.Skipped[why]++
		return nil
	}
	outcome, err := im.dispatch(c)
	if err != nil {
		return err
	}
	switch outcome {
	case created:
		counts.Created++
	case updated:
		counts.Updated++
	case deleted:
		counts.Deleted++
	case unchanged:
		counts.Unchanged++
	case merged:
		counts.Merged++
	default:
		counts.Skipped++
		im.report.Skipped[string(outcome)]++
	}
	return nil
}

// outcome is what applying an event did; anything else is a skip reason.
type outcome string

const (
	created   outcome = "created"
	updated   outcome = "updated"
	deleted   outcome = "deleted"
	unchanged outcome = "unchanged"
	merged    outcome = "merged"
)

// leftOut says why an event is not applied at all, or "".
func (im *importer) leftOut(c *model.Change) string {
	if c.Space != "" {
		if why, ok := im.skipKeys[strings.ToUpper(c.Space)]; ok {
			return why
		}
	}
	switch p := c.Payload.(type) {
	case *model.User:
		if im.needUsers != nil && !im.needUsers[p.AccountID] {
			return "not needed by the spaces in --spaces"
		}
	case *model.Group:
		if im.needGroup != nil && !im.needGroup[p.ID] {
			return "not needed by the spaces in --spaces"
		}
	case *model.Membership:
		if im.needGroup != nil && !im.needGroup[p.GroupID] {
			return "not needed by the spaces in --spaces"
		}
	}
	if im.needGroup != nil && (c.Type == model.GroupDeleted || c.Type == model.MembershipRemoved) {
		if _, _, ok, _ := im.tx.Lookup(im.srcSite, c.Type.Kind(), c.ID); !ok {
			return "not needed by the spaces in --spaces"
		}
	}
	return ""
}

// lookup returns the destination id of a source entity, or "".
func (im *importer) lookup(kind, id string) (string, bool, error) {
	if id == "" {
		return "", false, nil
	}
	key := mapKey{kind, id}
	if m, ok := im.cache[key]; ok {
		return m.dest, m.owned, nil
	}
	dest, owned, ok, err := im.tx.Lookup(im.srcSite, kind, id)
	if err != nil || !ok {
		return "", false, err
	}
	im.remember(key, mapped{dest, owned})
	return dest, owned, nil
}

func (im *importer) remember(key mapKey, m mapped) {
	if len(im.cache) >= cacheSize || im.cache == nil {
		im.cache = make(map[mapKey]mapped, cacheSize/4)
	}
	im.cache[key] = m
}

// must returns the destination id of an entity the event needs.
func (im *importer) must(kind, id string) (string, error) {
	if id == "" {
		return "", nil
	}
	dest, _, err := im.lookup(kind, id)
	if err == nil && dest == "" {
		err = fmt.Errorf("refers to %s %s, which is not at the destination", kind, id)
	}
	return dest, err
}

// user returns the destination account of a source user; a user the
// archive does not carry (left out by --spaces) maps to none.
func (im *importer) user(id string) (string, error) {
	d, _, err := im.lookup("user", id)
	return d, err
}

func (im *importer) record(kind, srcID, destID string, owned bool) error {
	if err := im.tx.Record(im.srcSite, kind, srcID, destID, im.archiveID, owned); err != nil {
		return err
	}
	if destID == "" {
		delete(im.cache, mapKey{kind, srcID})
	} else {
		im.remember(mapKey{kind, srcID}, mapped{destID, owned})
	}
	return nil
}

// create records a new entity after make wrote it, unless it was there.
func (im *importer) create(kind, srcID, prefix string, make func(destID string) error) (outcome, error) {
	if d, _, err := im.lookup(kind, srcID); err != nil || d != "" {
		return unchanged, err
	}
	destID, err := im.tx.NewID(prefix)
	if err != nil {
		return "", err
	}
	if err := make(destID); err != nil {
		return "", err
	}
	return created, im.record(kind, srcID, destID, true)
}

// owned runs change on an entity the import created; one it linked to (an
// existing account, a merged group) is not overwritten.
func (im *importer) owned(kind, srcID string, why outcome, change func(destID string) error) (outcome, error) {
	d, owned, err := im.lookup(kind, srcID)
	switch {
	case err != nil:
		return "", err
	case d == "":
		return "", fmt.Errorf("refers to %s %s, which is not at the destination", kind, srcID)
	case !owned:
		return why, nil
	}
	return updated, change(d)
}

// removeRelation deletes a relation (label, like, ...) recorded at import.
func (im *importer) removeRelation(kind, srcID string, remove func(parts []string) error) (outcome, error) {
	d, _, err := im.lookup(kind, srcID)
	if err != nil || d == "" {
		return unchanged, err
	}
	// Source relations that merged into one (two source accounts with one
	// email) share it: it goes only with the last of them.
	shared, err := im.tx.MappedFrom(im.srcSite, kind, d)
	if err != nil {
		return "", err
	}
	if shared <= 1 {
		if err := remove(strings.Split(d, "\x1f")); err != nil {
			return "", err
		}
	}
	return deleted, im.record(kind, srcID, "", true)
}

func relationID(parts ...string) string { return strings.Join(parts, "\x1f") }

var (
	accountRef = regexp.MustCompile(`ri:account-id="([^"]*)"`)
	spaceRef   = regexp.MustCompile(`ri:space-key="([^"]*)"`)
)

// rewrite points a body's user mentions and space keys at the destination.
// Links to pages name them by title and space key; attachments by file name.
func (im *importer) rewrite(body string) (string, error) {
	var err error
	body = accountRef.ReplaceAllStringFunc(body, func(m string) string {
		src := accountRef.FindStringSubmatch(m)[1]
		d, e := im.user(src)
		if e != nil {
			err = e
		}
		if d == "" {
			return m
		}
		return `ri:account-id="` + d + `"`
	})
	body = spaceRef.ReplaceAllStringFunc(body, func(m string) string {
		src := spaceRef.FindStringSubmatch(m)[1]
		if d, ok := im.keyMap[src]; ok && d != src {
			return `ri:space-key="` + d + `"`
		}
		return m
	})
	return body, err
}

// resolveHomepages points the spaces this import created at their
// homepages, which come after them in the archive. The plan found them, so
// this works after a resume too.
func (im *importer) resolveHomepages() error {
	for srcSpace, srcPage := range im.homepages {
		space, owned, err := im.lookup("space", srcSpace)
		if err != nil || space == "" || !owned {
			if err != nil {
				return err
			}
			continue
		}
		page, _, err := im.lookup("content", srcPage)
		if err != nil {
			return err
		}
		if page != "" {
			if err := im.tx.SetHomepage(space, page); err != nil {
				return err
			}
		}
	}
	return nil
}
