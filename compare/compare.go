// Package compare says whether two sites or archives hold the same
// content, as a user verifying a copy needs: per kind, counts and
// id-independent digests of everything the scope table says is copied.
// Entities are matched by what identifies them to people (users by email,
// groups by name, spaces by key, pages by space and title, attachments by
// page and file name), never by ids, which differ between sites.
//
// Both sides are replayed into memory, each version's body held only as
// its digest and the accounts it mentions (see squeeze): what remains
// grows with the number of entities and versions, not with their text.
package compare

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"ferry/archive"
	"ferry/embedded"
	"ferry/internal/replay"
	"ferry/model"
)

// Load replays a site (PATH.db, local:PATH) or a full archive into a State.
func Load(ctx context.Context, arg string, opts ...archive.ReadOption) (*model.State, error) {
	state := model.NewState()
	apply := func(c *model.Change) error {
		if v, ok := c.Payload.(*model.Version); ok {
			v.Body = squeeze(v.Body)
		}
		if err := state.Apply(c); err != nil {
			return fmt.Errorf("%s: %w", arg, err)
		}
		return nil
	}
	if path := strings.TrimPrefix(arg, "local:"); path != arg || strings.HasSuffix(path, ".db") {
		site, err := embedded.Open(path)
		if err != nil {
			return nil, err
		}
		defer site.Close()
		_, err = site.Changes(ctx, 0, nil, apply)
		return state, err
	}
	f, err := archive.Open(arg, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s is neither a site (PATH.db, local:PATH) nor a readable archive: %w", arg, err)
	}
	defer f.Close()
	if err := f.CheckIdentities(); err != nil {
		return nil, err
	}
	if p := f.Header().ParentID; p != "" {
		return nil, fmt.Errorf("%s is an incremental archive (it continues %s): compare a full archive, or the site it was imported into", arg, p)
	}
	return state, replay.Each(f, nil, func(_ int64, c *model.Change) error { return apply(c) })
}

// Content is a state as compare sees it: per kind, a value per key.
type Content map[string]map[string]string

// Normalize turns a state into id-independent content.
func Normalize(s *model.State) Content {
	n := &normalizer{users: map[string]string{}, groups: map[string]string{}, spaces: map[string]string{}, content: map[string]string{}, comments: map[string]string{}}
	type item struct {
		r        model.Ref
		state    any
		versions []any
	}
	var items []item
	s.Each(func(r model.Ref, state any, versions []any) { items = append(items, item{r, state, versions}) })
	sort.Slice(items, func(i, j int) bool { return items[i].r.Kind+items[i].r.ID < items[j].r.Kind+items[j].r.ID })
	// Names first, in dependency order: users, groups, spaces, content, comments.
	for _, it := range items {
		switch p := it.state.(type) {
		case *model.User:
			n.users[p.AccountID] = userKey(p)
		case *model.Group:
			n.groups[p.ID] = p.Name
		case *model.Space:
			n.spaces[p.ID] = p.Key
		}
	}
	for _, it := range items {
		if p, ok := it.state.(*model.Content); ok {
			title := ""
			if len(it.versions) > 0 {
				title = it.versions[len(it.versions)-1].(*model.Version).Title
			}
			n.content[p.ID] = n.spaces[p.SpaceID] + "/" + p.Type + "/" + title
		}
	}
	for _, it := range items {
		if p, ok := it.state.(*model.Comment); ok {
			first := ""
			if len(it.versions) > 0 {
				first = it.versions[0].(*model.Version).Body
			}
			n.comments[p.ID] = fmt.Sprintf("%s#%s#%s#%s", n.content[p.ContainerID], p.CreatedAt.UTC().Format("2006-01-02T15:04:05.000000Z"), n.users[p.Author], n.body(first))
		}
	}
	all := map[string]map[string][]string{} // kind → key → values
	for _, it := range items {
		if model.RuleFor(model.EventType(kindOf(it.r.Kind, it.state)+".created")).Copy == model.NotCopied {
			continue
		}
		kind, key, value := n.entry(it.r, it.state, it.versions)
		if kind == "" {
			continue
		}
		if all[kind] == nil {
			all[kind] = map[string][]string{}
		}
		if len(all[kind][key]) > 0 && kind == "user" {
			continue // accounts sharing an email become one: the first, as import keeps it
		}
		all[kind][key] = append(all[kind][key], value)
	}
	// Entities that share a key (two blog posts of one title in a space)
	// are told apart by their values, in order, so that neither the ids'
	// order nor a lost duplicate goes unnoticed. Exact duplicates are one:
	// the memberships of two accounts an import merged, say.
	out := Content{}
	for kind, keys := range all {
		out[kind] = map[string]string{}
		for key, values := range keys {
			sort.Strings(values)
			values = slices.Compact(values)
			for i, v := range values {
				k := key
				if i > 0 {
					k = fmt.Sprintf("%s (%d)", key, i+1)
				}
				out[kind][k] = v
			}
		}
	}
	return out
}

func kindOf(refKind string, state any) string {
	if c, ok := state.(*model.Content); ok {
		return c.Type
	}
	return refKind
}

func userKey(u *model.User) string {
	if u.Email != "" {
		return strings.ToLower(u.Email)
	}
	return "account:" + u.AccountID
}

type normalizer struct {
	users, groups, spaces, content, comments map[string]string
}

var accountRef = regexp.MustCompile(`ri:account-id="([^"]*)"`)

// squeezed marks a body squeeze has replaced; no storage-format or wiki
// body starts with a NUL.
const squeezed = "\x00"

// squeeze replaces a body with what comparing it needs: the hash of its
// text with every mentioned account id taken out, then those ids in order
// (which differ between sites and are compared through the users' keys).
// A body of kilobytes becomes a hundred bytes or so.
func squeeze(b string) string {
	if strings.HasPrefix(b, squeezed) {
		return b
	}
	var ids []string
	text := accountRef.ReplaceAllStringFunc(b, func(m string) string {
		ids = append(ids, accountRef.FindStringSubmatch(m)[1])
		return `ri:account-id=""`
	})
	h := sha256.Sum256([]byte(text))
	return squeezed + hex.EncodeToString(h[:]) + strings.Join(append([]string{""}, ids...), squeezed)
}

// body digests a body with its account ids replaced by the users' keys
// (an id of no known user stays as it is).
func (n *normalizer) body(b string) string {
	parts := strings.Split(squeeze(b)[len(squeezed):], squeezed)
	for i, id := range parts[1:] {
		if k, ok := n.users[id]; ok {
			parts[i+1] = k
		}
	}
	return digest(strings.Join(parts, squeezed))
}

func (n *normalizer) principal(typ, id string) string {
	switch typ {
	case "user":
		return "user:" + n.users[id]
	case "group":
		return "group:" + n.groups[id]
	}
	return typ
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

func digest(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:8]) }

// entry returns an entity's kind, id-independent key and value.
func (n *normalizer) entry(r model.Ref, state any, versions []any) (kind, key, value string) {
	switch p := state.(type) {
	case *model.User:
		return "user", userKey(p), jsonOf([]any{p.DisplayName, p.Status, p.AccountType})
	case *model.Group:
		return "group", p.Name, ""
	case *model.Membership:
		return "membership", n.groups[p.GroupID] + " ∋ " + n.users[p.AccountID], ""
	case *model.Space:
		return "space", p.Key, jsonOf([]any{p.Name, p.Type, p.Status, p.Description, p.Logo, p.Categories, p.Settings, p.LookAndFeel, p.Templates, n.content[p.Homepage], n.users[p.Author]})
	case *model.SpacePermission:
		return "space_permission", n.spaces[p.SpaceID] + " " + n.principal(p.PrincipalType, p.PrincipalID) + " " + p.Operation, ""
	case *model.Content:
		var vs []any
		for _, v := range versions {
			v := v.(*model.Version)
			vs = append(vs, []any{v.Number, v.Title, n.body(v.Body), n.users[v.Author], v.At, v.Message, v.MinorEdit})
		}
		return p.Type, n.content[p.ID], jsonOf([]any{n.content[p.ParentID], p.Position, p.Status, p.CreatedAt, n.users[p.Author], vs})
	case *model.Comment:
		var vs []any
		for _, v := range versions {
			v := v.(*model.Version)
			vs = append(vs, []any{v.Number, n.body(v.Body), n.users[v.Author], v.At})
		}
		return "comment", n.comments[p.ID], jsonOf([]any{n.comments[p.ParentID], p.Location, p.Anchor, p.Status, vs})
	case *model.Attachment:
		var vs []any
		for _, v := range versions {
			v := v.(*model.AttachmentVersion)
			vs = append(vs, []any{v.Number, v.Blob, v.Size, v.MediaType, v.Comment, n.users[v.Author], v.At})
		}
		return "attachment", n.content[p.ContainerID] + "/" + p.Filename, jsonOf([]any{p.MediaType, n.users[p.Author], p.CreatedAt, vs})
	case *model.Label:
		return "label", n.content[p.ContainerID] + " " + p.Prefix + ":" + p.Name, ""
	case *model.Restriction:
		return "restriction", n.content[p.ContainerID] + " " + p.Operation + " " + n.principal(p.PrincipalType, p.PrincipalID), ""
	case *model.Property:
		return "property", n.content[p.ContainerID] + " " + p.Key, string(p.Value)
	case *model.Like:
		container := n.content[p.ContainerID]
		if p.ContainerType == "comment" {
			container = n.comments[p.ContainerID]
		}
		return "like", container + " ♥ " + n.users[p.AccountID], ""
	}
	return "", "", ""
}

// Difference is one way two contents differ.
type Difference struct {
	Kind string `json:"kind"`
	Key  string `json:"key"`
	What string `json:"what"` // only in A, only in B, differs
}

// KindSummary compares one kind.
type KindSummary struct {
	Kind    string `json:"kind"`
	A       int    `json:"a"`
	B       int    `json:"b"`
	DigestA string `json:"digest_a"`
	DigestB string `json:"digest_b"`
	Equal   bool   `json:"equal"`
}

// Diff compares two contents: a summary per kind and the differences.
func Diff(a, b Content) ([]KindSummary, []Difference) {
	kinds := map[string]bool{}
	for k := range a {
		kinds[k] = true
	}
	for k := range b {
		kinds[k] = true
	}
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	var sums []KindSummary
	var diffs []Difference
	for _, k := range names {
		s := KindSummary{Kind: k, A: len(a[k]), B: len(b[k]), DigestA: kindDigest(a[k]), DigestB: kindDigest(b[k])}
		s.Equal = s.DigestA == s.DigestB
		sums = append(sums, s)
		if s.Equal {
			continue
		}
		keys := map[string]bool{}
		for key := range a[k] {
			keys[key] = true
		}
		for key := range b[k] {
			keys[key] = true
		}
		sorted := make([]string, 0, len(keys))
		for key := range keys {
			sorted = append(sorted, key)
		}
		sort.Strings(sorted)
		for _, key := range sorted {
			va, inA := a[k][key]
			vb, inB := b[k][key]
			switch {
			case !inB:
				diffs = append(diffs, Difference{k, key, "only in A"})
			case !inA:
				diffs = append(diffs, Difference{k, key, "only in B"})
			case va != vb:
				diffs = append(diffs, Difference{k, key, "differs: " + va + " ≠ " + vb})
			}
		}
	}
	return sums, diffs
}

func kindDigest(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s\x00%s\n", k, m[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
