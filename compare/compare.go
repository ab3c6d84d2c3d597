// Package compare says whether two sites or archives hold the same
// content, as a user verifying a copy needs: per kind, counts and
// id-independent digests of everything the scope table says is copied.
// Entities are matched by what identifies them to people (users by email,
// groups by name, spaces by key, pages by space and title, attachments by
// page and file name), never by ids, which differ between sites.
//
// Both sides are replayed into a temporary SQLite file (see store), each
// version's body kept only as its digest and the accounts it mentions (see
// squeeze), normalized there into sorted (kind, key, value) rows, and
// compared as two sorted streams: memory does not grow with the sites.
package compare

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"maps"
	"regexp"
	"slices"
	"strings"

	"ferry/archive"
	"ferry/embedded"
	"ferry/internal/replay"
	"ferry/model"

	"golang.org/x/sync/errgroup"
)

// Result is what a comparison found.
type Result struct {
	Kinds       []KindSummary // per kind, in kind order
	Differences []Difference  // in kind and key order
}

// Equal reports whether the two sides hold the same content.
func (r *Result) Equal() bool { return len(r.Differences) == 0 }

// Compare compares a and b: each a site (PATH.db, local:PATH) or a full
// archive, read with opts.
func Compare(ctx context.Context, a, b string, opts ...archive.ReadOption) (*Result, error) {
	return compareWith(ctx, [2]string{a, b}, func(ctx context.Context, st *store, arg string) error {
		return load(ctx, st, arg, opts)
	})
}

// compareWith compares two sides, each loaded into its own store by fill.
// The sides are loaded and normalized at once, one on each core.
func compareWith(ctx context.Context, args [2]string, fill func(context.Context, *store, string) error) (*Result, error) {
	var stores [2]*store
	defer func() {
		for _, st := range stores {
			if st != nil {
				st.close()
			}
		}
	}()
	g, gctx := errgroup.WithContext(ctx)
	for i, arg := range args {
		g.Go(func() error {
			st, err := newStore(ctx) // not gctx: it ends when the group does, and the store outlives it
			if err != nil {
				return err
			}
			stores[i] = st
			if err := fill(gctx, st, arg); err != nil {
				return err
			}
			if err := normalize(gctx, st); err != nil {
				return fmt.Errorf("compare %s: %w", arg, err)
			}
			_, err = st.tx.ExecContext(gctx, `CREATE INDEX entries_sorted ON entries (kind, key, value)`)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return diff(ctx, stores[0], stores[1])
}

// load replays a site (PATH.db, local:PATH) or a full archive into a store.
func load(ctx context.Context, st *store, arg string, opts []archive.ReadOption) error {
	apply := func(c *model.Change) error {
		if err := st.apply(c); err != nil {
			return fmt.Errorf("%s: %w", arg, err)
		}
		return nil
	}
	if path := strings.TrimPrefix(arg, "local:"); path != arg || strings.HasSuffix(path, ".db") {
		site, err := embedded.Open(path)
		if err != nil {
			return err
		}
		defer site.Close()
		_, err = site.Changes(ctx, 0, nil, apply)
		return err
	}
	f, err := archive.Open(arg, opts...)
	if err != nil {
		return fmt.Errorf("%s is neither a site (PATH.db, local:PATH) nor a readable archive: %w", arg, err)
	}
	defer f.Close()
	if err := f.CheckIdentities(); err != nil {
		return err
	}
	if p := f.Header().ParentID; p != "" {
		return fmt.Errorf("%s is an incremental archive (it continues %s): compare a full archive, or the site it was imported into", arg, p)
	}
	return replay.Each(f, nil, func(_ int64, c *model.Change) error { return apply(c) })
}

// normalize turns a side's entities into id-independent entries: names
// first, in dependency order (users, groups, spaces, content, comments),
// then a (kind, key, value) entry per entity.
func normalize(ctx context.Context, st *store) error {
	n := &normalizer{st: st, users: map[string]string{}, groups: map[string]string{}, spaces: map[string]string{}}
	err := st.each(ctx, "user", func(_ model.Ref, state any, _ []any) error {
		u := state.(*model.User)
		n.users[u.AccountID] = userKey(u)
		return nil
	})
	if err == nil {
		err = st.each(ctx, "group", func(_ model.Ref, state any, _ []any) error {
			g := state.(*model.Group)
			n.groups[g.ID] = g.Name
			return nil
		})
	}
	if err == nil {
		err = st.each(ctx, "space", func(_ model.Ref, state any, _ []any) error {
			sp := state.(*model.Space)
			n.spaces[sp.ID] = sp.Key
			return nil
		})
	}
	if err == nil {
		err = st.each(ctx, "content", func(_ model.Ref, state any, versions []any) error {
			p := state.(*model.Content)
			title := ""
			if len(versions) > 0 {
				title = versions[len(versions)-1].(*model.Version).Title
			}
			return st.putName("content", p.ID, n.spaces[p.SpaceID]+"/"+p.Type+"/"+title)
		})
	}
	if err == nil {
		err = st.each(ctx, "comment", func(_ model.Ref, state any, versions []any) error {
			p := state.(*model.Comment)
			first := ""
			if len(versions) > 0 {
				first = versions[0].(*model.Version).Body
			}
			name := fmt.Sprintf("%s#%s#%s#%s", n.content(p.ContainerID), p.CreatedAt.UTC().Format("2006-01-02T15:04:05.000000Z"), n.users[p.Author], n.body(first))
			return st.putName("comment", p.ID, name)
		})
	}
	if err != nil {
		return err
	}
	userKeys := map[string]bool{}
	return st.each(ctx, "", func(r model.Ref, state any, versions []any) error {
		if model.RuleFor(model.EventType(kindOf(r.Kind, state)+".created")).Copy == model.NotCopied {
			return nil
		}
		kind, key, value := n.entry(r, state, versions)
		if n.err != nil {
			return n.err
		}
		if kind == "" {
			return nil
		}
		if kind == "user" {
			if userKeys[key] {
				return nil // accounts sharing an email become one: the first, as import keeps it
			}
			userKeys[key] = true
		}
		_, err := st.stmt["entry"].Exec(kind, key, value)
		return err
	})
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

// normalizer maps ids to the names entities are matched by. Users, groups
// and spaces are few and held in maps; pages and comments are looked up in
// the store.
type normalizer struct {
	st                    *store
	users, groups, spaces map[string]string
	recent                map[[2]string]string // names looked up lately, bounded
	err                   error                // the first failed lookup
}

// lookup returns an entity's name from the store. Entities are visited in
// id order, which keeps a container's labels, properties and restrictions
// together, so recent names are kept for a while.
func (n *normalizer) lookup(kind, id string) string {
	if name, ok := n.recent[[2]string{kind, id}]; ok {
		return name
	}
	name, err := n.st.name(kind, id)
	if err != nil && n.err == nil {
		n.err = err
	}
	if len(n.recent) >= 4096 || n.recent == nil {
		n.recent = make(map[[2]string]string, 4096)
	}
	n.recent[[2]string{kind, id}] = name
	return name
}

func (n *normalizer) content(id string) string { return n.lookup("content", id) }
func (n *normalizer) comment(id string) string { return n.lookup("comment", id) }

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
		return "space", p.Key, jsonOf([]any{p.Name, p.Type, p.Status, p.Description, p.Logo, p.Categories, p.Settings, p.LookAndFeel, p.Templates, n.content(p.Homepage), n.users[p.Author]})
	case *model.SpacePermission:
		return "space_permission", n.spaces[p.SpaceID] + " " + n.principal(p.PrincipalType, p.PrincipalID) + " " + p.Operation, ""
	case *model.Content:
		var vs []any
		for _, v := range versions {
			v := v.(*model.Version)
			vs = append(vs, []any{v.Number, v.Title, n.body(v.Body), n.users[v.Author], v.At, v.Message, v.MinorEdit})
		}
		return p.Type, n.content(p.ID), jsonOf([]any{n.content(p.ParentID), p.Position, p.Status, p.CreatedAt, n.users[p.Author], vs})
	case *model.Comment:
		var vs []any
		for _, v := range versions {
			v := v.(*model.Version)
			vs = append(vs, []any{v.Number, n.body(v.Body), n.users[v.Author], v.At})
		}
		return "comment", n.comment(p.ID), jsonOf([]any{n.comment(p.ParentID), p.Location, p.Anchor, p.Status, vs})
	case *model.Attachment:
		var vs []any
		for _, v := range versions {
			v := v.(*model.AttachmentVersion)
			vs = append(vs, []any{v.Number, v.Blob, v.Size, v.MediaType, v.Comment, n.users[v.Author], v.At})
		}
		return "attachment", n.content(p.ContainerID) + "/" + p.Filename, jsonOf([]any{p.MediaType, n.users[p.Author], p.CreatedAt, vs})
	case *model.Label:
		return "label", n.content(p.ContainerID) + " " + p.Prefix + ":" + p.Name, ""
	case *model.Restriction:
		return "restriction", n.content(p.ContainerID) + " " + p.Operation + " " + n.principal(p.PrincipalType, p.PrincipalID), ""
	case *model.Property:
		return "property", n.content(p.ContainerID) + " " + p.Key, string(p.Value)
	case *model.Like:
		container := n.content(p.ContainerID)
		if p.ContainerType == "comment" {
			container = n.comment(p.ContainerID)
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

// Entities that share a key (two blog posts of one title in a space) are
// told apart by their values, in order, as KEY, KEY (2), KEY (3), so that
// neither the ids' order nor a lost duplicate goes unnoticed. Exact
// duplicates are one: the memberships of two accounts an import merged,
// say.

// diff compares the two sides' entries, kind by kind, as two streams
// sorted by key and value.
func diff(ctx context.Context, a, b *store) (*Result, error) {
	kinds := map[string]bool{}
	for _, st := range []*store{a, b} {
		rows, err := st.tx.QueryContext(ctx, `SELECT DISTINCT kind FROM entries`)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return nil, err
			}
			kinds[k] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	res := &Result{Kinds: []KindSummary{}, Differences: []Difference{}}
	for _, kind := range slices.Sorted(maps.Keys(kinds)) {
		sum, err := diffKind(ctx, a, b, kind, func(d Difference) { res.Differences = append(res.Differences, d) })
		if err != nil {
			return nil, err
		}
		res.Kinds = append(res.Kinds, sum)
	}
	return res, nil
}

// side is one side's entries of a kind, read in key and value order.
type side struct {
	rows       *sql.Rows
	key, value string
	nth        int // of the distinct values of key: KEY (nth)
	ok         bool
	n          int
	h          hash.Hash
}

func openSide(ctx context.Context, st *store, kind string) (*side, error) {
	rows, err := st.tx.QueryContext(ctx, `SELECT key, value FROM entries WHERE kind = ? ORDER BY key, value`, kind)
	if err != nil {
		return nil, err
	}
	s := &side{rows: rows, h: sha256.New()}
	return s, s.next()
}

// next moves to the next distinct entry.
func (s *side) next() error {
	for {
		if s.ok = s.rows.Next(); !s.ok {
			return s.rows.Err()
		}
		var key, value string
		if err := s.rows.Scan(&key, &value); err != nil {
			return err
		}
		switch {
		case s.n > 0 && key == s.key && value == s.value:
			continue
		case s.n > 0 && key == s.key:
			s.nth++
		default:
			s.nth = 1
		}
		s.key, s.value = key, value
		s.n++
		fmt.Fprintf(s.h, "%s\x00%s\n", s.name(), s.value)
		return nil
	}
}

// name is the entry's key, numbered when other values share it.
func (s *side) name() string {
	if s.nth > 1 {
		return fmt.Sprintf("%s (%d)", s.key, s.nth)
	}
	return s.key
}

// before reports whether s's entry comes before o's.
func (s *side) before(o *side) bool {
	return s.key < o.key || s.key == o.key && s.nth < o.nth
}

func (s *side) digest() string { return hex.EncodeToString(s.h.Sum(nil))[:16] }

// diffKind compares one kind: counts, digests and the differences.
func diffKind(ctx context.Context, sa, sb *store, kind string, each func(Difference)) (KindSummary, error) {
	sum := KindSummary{Kind: kind}
	a, err := openSide(ctx, sa, kind)
	if err != nil {
		return sum, err
	}
	defer a.rows.Close()
	b, err := openSide(ctx, sb, kind)
	if err != nil {
		return sum, err
	}
	defer b.rows.Close()
	for err == nil && (a.ok || b.ok) {
		switch {
		case !b.ok || a.ok && a.before(b):
			each(Difference{kind, a.name(), "only in A"})
			err = a.next()
		case !a.ok || b.before(a):
			each(Difference{kind, b.name(), "only in B"})
			err = b.next()
		default:
			if a.value != b.value {
				each(Difference{kind, a.name(), "differs: " + a.value + " ≠ " + b.value})
			}
			if err = a.next(); err == nil {
				err = b.next()
			}
		}
	}
	if err != nil {
		return sum, err
	}
	sum.A, sum.B, sum.DigestA, sum.DigestB = a.n, b.n, a.digest(), b.digest()
	sum.Equal = sum.DigestA == sum.DigestB
	return sum, nil
}
