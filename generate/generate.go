// Package generate makes realistic synthetic Confluence sites in the
// embedded store, the same for the same seed, and evolves them with the
// edits real sites see. Demos, tests and benchmarks use them.
package generate

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"time"

	"ferry/embedded"
	"ferry/model"
)

// Options size a generated site.
type Options struct {
	Users           int
	Spaces          int
	Pages           int
	AttachmentBytes int64
	Seed            int64
	// Folders is how many folders (Confluence Cloud's) each space gets,
	// some pages moved into them. 0 makes none; other values change only
	// ids and times of what follows, not its shape.
	Folders int
	// Progress, if set, is called after each batch with the pages written.
	Progress func(pages int)
}

// epoch is when generated sites' history begins.
var epoch = time.Date(2019, 1, 7, 9, 0, 0, 0, time.UTC)

// gen holds what generation needs while it writes a site.
type gen struct {
	rng     *rand.Rand
	opts    Options
	site    *embedded.Site
	clock   time.Time
	nextID  int
	users   []string // account ids
	active  []string // account ids of active users
	groups  []string
	budget  int64    // attachment bytes left
	recent  [][]byte // recent attachment contents, some reused (dedup)
	written int
}

// Site fills an empty embedded site.
func Site(ctx context.Context, site *embedded.Site, o Options) error {
	if o.Users < 1 || o.Spaces < 1 || o.Pages < o.Spaces {
		return fmt.Errorf("generate: need at least 1 user, 1 space and a page per space (got %d users, %d spaces, %d pages)", o.Users, o.Spaces, o.Pages)
	}
	g := &gen{rng: rand.New(rand.NewSource(o.Seed)), opts: o, site: site, clock: epoch, nextID: 1_000_000, budget: o.AttachmentBytes}
	if err := g.update(ctx, g.people); err != nil {
		return err
	}
	weights := make([]float64, o.Spaces)
	var total float64
	for i := range weights {
		weights[i] = 1 / math.Pow(float64(i+1), 1.1) // a few big spaces, many small ones
		total += weights[i]
	}
	left := o.Pages
	for i := 0; i < o.Spaces; i++ {
		n := max(1, int(float64(o.Pages)*weights[i]/total))
		if i == o.Spaces-1 || n > left-(o.Spaces-1-i) {
			n = left - (o.Spaces - 1 - i)
		}
		left -= n
		if err := g.space(ctx, i, n); err != nil {
			return err
		}
	}
	return g.setClock(ctx)
}

func (g *gen) id() string { g.nextID++; return fmt.Sprint(g.nextID) }

// tick advances the site's clock by up to d.
func (g *gen) tick(d time.Duration) time.Time {
	g.clock = g.clock.Add(time.Duration(1 + g.rng.Int63n(int64(d)))).Truncate(time.Microsecond)
	return g.clock
}

func (g *gen) update(ctx context.Context, fn func(*embedded.Tx) error) error {
	return g.site.Update(ctx, g.tick(time.Hour), "", fn)
}

func (g *gen) anyUser() string    { return g.users[g.rng.Intn(len(g.users))] }
func (g *gen) activeUser() string { return g.active[g.rng.Intn(len(g.active))] }

// people writes users, groups, memberships and apps.
func (g *gen) people(tx *embedded.Tx) error {
	var prevEmail string
	for i := 0; i < g.opts.Users; i++ {
		first, last := pick(g.rng, firstNames), pick(g.rng, lastNames)
		u := model.User{
			AccountID:   fmt.Sprintf("5b10a2844c20165700ede%06d", i),
			DisplayName: first + " " + last,
			Email:       fmt.Sprintf("%s.%s%d@example.com", strings.ToLower(asciiOnly(first)), strings.ToLower(asciiOnly(last)), i),
			Status:      "active",
			AccountType: "atlassian",
		}
		switch r := g.rng.Intn(100); {
		case r < 6:
			u.Status = "inactive"
		case r < 9:
			u.Status = "deleted" // a "former user": their content stays
		case r < 11:
			u.AccountType, u.Email = "app", ""
		}
		if i%50 == 49 && prevEmail != "" {
			// The same person twice, the emails differing only in case.
			u.Email = strings.ToUpper(prevEmail[:1]) + prevEmail[1:]
		}
		prevEmail = u.Email
		if err := tx.PutUser(u); err != nil {
			return err
		}
		g.users = append(g.users, u.AccountID)
		if u.Status == "active" {
			g.active = append(g.active, u.AccountID)
		}
	}
	if len(g.active) == 0 {
		g.active = g.users
	}
	teams := []string{"confluence-users", "confluence-administrators", "engineering", "marketing", "legal", "support", "site-admins", "contractors"}
	for i, name := range teams[:min(len(teams), 3+g.opts.Users/20)] {
		gr := model.Group{ID: fmt.Sprintf("group-%04d", i), Name: name}
		if err := tx.CreateGroup(gr); err != nil {
			return err
		}
		g.groups = append(g.groups, gr.ID)
		for _, u := range g.users {
			in := i == 0 || (i == 1 && g.rng.Intn(20) == 0) || (i > 1 && g.rng.Intn(4) == 0)
			if in {
				if err := tx.AddMembership(model.Membership{GroupID: gr.ID, AccountID: u}); err != nil {
					return err
				}
			}
		}
	}
	for _, a := range []model.App{
		{Key: "com.gliffy.integration.confluence", Name: "Gliffy Diagrams", Vendor: "Gliffy", Version: "10.2.1"},
		{Key: "com.mxgraph.confluence.plugins.diagramly", Name: "draw.io Diagrams", Vendor: "JGraph", Version: "4.0.12"},
		{Key: "com.atlassian.confluence.plugins.confluence-jira-content", Name: "Jira Macros", Vendor: "Atlassian", Version: "9.1.0"},
	} {
		if err := tx.InstallApp(a); err != nil {
			return err
		}
	}
	return nil
}

func asciiOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 128 && r != '\'' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "user"
	}
	return b.String()
}

// spaceKey makes a unique key from the space's number.
func spaceKey(i int) string {
	var b []byte
	for n := i; ; n = n/26 - 1 {
		b = append([]byte{byte('A' + n%26)}, b...)
		if n < 26 {
			break
		}
	}
	return "SP" + string(b)
}

// space writes one space with n pages and everything on them, in batches.
func (g *gen) space(ctx context.Context, i, n int) error {
	sp := model.Space{
		ID: fmt.Sprintf("space-%05d", i), Key: spaceKey(i), Name: fmt.Sprintf("%s %s", pick(g.rng, titleWords), pick(g.rng, titleWords)),
		Type: "global", Status: "current", Description: sentence(g.rng, 12), Categories: []string{pick(g.rng, words)},
		Settings:    map[string]string{"content_status": "enabled", "sidebar": "page-tree"},
		LookAndFeel: map[string]string{"header_background": fmt.Sprintf("#%06x", g.rng.Intn(1<<24)), "theme": "default"},
		Templates:   []model.Template{{Name: "Meeting notes", Body: "<h2>Attendees</h2><p></p><h2>Notes</h2>"}},
		CreatedAt:   g.tick(24 * time.Hour), Author: g.activeUser(),
	}
	switch r := g.rng.Intn(10); {
	case r == 0 && i > 0 && i < len(g.users):
		owner := g.users[i] // one personal space per user
		sp.Type, sp.Key, sp.Name = "personal", "~"+owner, "Personal space"
	case r == 1 && i > 0:
		sp.Status = "archived"
	}
	pages := make([]pageInfo, 0, n)
	firstID := g.nextID + 1
	sp.Homepage = fmt.Sprint(firstID)
	err := g.update(ctx, func(tx *embedded.Tx) error {
		if g.rng.Intn(3) == 0 {
			logo, err := tx.PutBlob(attachmentBytes(g.rng, 2048+g.rng.Intn(4096), false))
			if err != nil {
				return err
			}
			sp.Logo = logo
		}
		if err := tx.CreateSpace(sp); err != nil {
			return err
		}
		return g.permissions(tx, sp)
	})
	if err != nil {
		return err
	}
	for done := 0; done < n; {
		batch := min(n-done, 500)
		err := g.update(ctx, func(tx *embedded.Tx) error {
			for k := 0; k < batch; k++ {
				if err := g.page(tx, sp, &pages, done+k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		done += batch
		g.written += batch
		if g.opts.Progress != nil {
			g.opts.Progress(g.written)
		}
	}
	return g.update(ctx, func(tx *embedded.Tx) error {
		if err := g.folders(tx, sp, pages); err != nil {
			return err
		}
		for k := 0; k < max(1, n/10); k++ {
			if err := g.blogpost(tx, sp, pages); err != nil {
				return err
			}
		}
		return tx.RecordAppData(model.AppData{ID: "appdata-" + sp.ID, AppKey: "com.mxgraph.confluence.plugins.diagramly", Kind: "diagram", Size: int64(1000 + g.rng.Intn(50000))}, sp.ID)
	})
}

// folders adds Options.Folders folders to a space, at its root, under a
// page or in another folder, with a title and now and then a rename, and
// moves pages (with their subtrees) into them. Its random numbers come
// from a source of their own, so that a site without folders is the same
// with or without this code.
func (g *gen) folders(tx *embedded.Tx, sp model.Space, pages []pageInfo) error {
	if g.opts.Folders == 0 || len(pages) < 2 {
		return nil
	}
	rng := rand.New(rand.NewSource(g.opts.Seed ^ int64(len(sp.ID))<<20 ^ 0xf01de7))
	var folders []string
	for k := 0; k < g.opts.Folders; k++ {
		f := model.Content{ID: g.id(), Type: "folder", SpaceID: sp.ID, Status: "current", CreatedAt: g.tick(2 * time.Hour), Author: g.active[rng.Intn(len(g.active))], Position: k}
		switch r := rng.Intn(3); {
		case r == 0 && len(folders) > 0:
			f.ParentID = folders[rng.Intn(len(folders))]
		case r == 1:
			f.ParentID = pages[rng.Intn(len(pages))].id
		}
		if err := tx.CreateContent(f); err != nil {
			return err
		}
		names := []string{"Team", "Archive", "Projects", "Drafts", "Reference", "Meetings", "Designs", "設計", "Réunions"}
		versions := 1 + rng.Intn(2)
		for v := 1; v <= versions; v++ {
			title := fmt.Sprintf("%s %d", names[rng.Intn(len(names))], k+1)
			if err := tx.AddVersion(model.Version{ContentID: f.ID, Number: v, Title: title, Author: f.Author, At: f.CreatedAt.Add(time.Duration(v-1) * time.Hour)}); err != nil {
				return err
			}
		}
		folders = append(folders, f.ID)
		// A page or two go in, with what is under them, unless the folder
		// lies under that page.
		for n := 1 + rng.Intn(2); n > 0; n-- {
			p := pages[1+rng.Intn(len(pages)-1)].id
			below, err := tx.IsUnder(f.ID, p)
			if err != nil {
				return err
			}
			if below {
				continue
			}
			if err := tx.MoveContent(p, f.ID, n); err != nil {
				return err
			}
		}
	}
	return nil
}

type pageInfo struct {
	id, title string
	children  int
}

func (g *gen) permissions(tx *embedded.Tx, sp model.Space) error {
	grants := []model.SpacePermission{
		{PrincipalType: "group", PrincipalID: g.groups[0], Operation: "read:space"},
		{PrincipalType: "group", PrincipalID: g.groups[0], Operation: "create:page"},
		{PrincipalType: "group", PrincipalID: g.groups[1], Operation: "administer:space"},
		{PrincipalType: "user", PrincipalID: sp.Author, Operation: "administer:space"},
	}
	if len(g.groups) > 2 {
		grants = append(grants, model.SpacePermission{PrincipalType: "group", PrincipalID: g.groups[2+g.rng.Intn(len(g.groups)-2)], Operation: "create:blogpost"})
	}
	if g.rng.Intn(10) == 0 {
		grants = append(grants, model.SpacePermission{PrincipalType: "anonymous", Operation: "read:space"})
	}
	for k, p := range grants {
		p.ID, p.SpaceID = fmt.Sprintf("%s-perm-%02d", sp.ID, k), sp.ID
		if err := tx.GrantPermission(p); err != nil {
			return err
		}
	}
	return nil
}

// page writes page number k of a space with its versions, comments,
// attachments, labels, restrictions, properties and likes.
func (g *gen) page(tx *embedded.Tx, sp model.Space, pages *[]pageInfo, k int) error {
	c := model.Content{ID: g.id(), Type: "page", SpaceID: sp.ID, Status: "current", CreatedAt: g.tick(3 * time.Hour), Author: g.anyUser()}
	if k > 0 && g.rng.Intn(8) != 0 {
		// Mostly under a recent page, which builds deep trees.
		p := len(*pages) - 1 - g.rng.Intn(min(len(*pages), 6))
		if g.rng.Intn(3) == 0 {
			p = g.rng.Intn(len(*pages))
		}
		c.ParentID = (*pages)[p].id
		c.Position = (*pages)[p].children
		(*pages)[p].children++
	}
	switch r := g.rng.Intn(100); {
	case r < 4:
		c.Status = "archived"
	case r < 8:
		c.Status = "trashed"
	case r < 10:
		c.Status = "draft"
	}
	if err := tx.CreateContent(c); err != nil {
		return err
	}
	t := title(g.rng, k)
	*pages = append(*pages, pageInfo{id: c.ID, title: t})
	files, err := g.attachments(tx, c)
	if err != nil {
		return err
	}
	titles := make([]string, 0, 8)
	for j := 0; j < min(8, len(*pages)-1); j++ {
		titles = append(titles, (*pages)[g.rng.Intn(len(*pages)-1)].title)
	}
	refs := bodyRefs{spaceKey: sp.Key, pageTitles: titles, accountIDs: g.anyUser, attachments: files}
	versions := 1 + int(g.rng.ExpFloat64()*2)
	at := c.CreatedAt
	for v := 1; v <= versions; v++ {
		if v == versions && g.rng.Intn(10) == 0 {
			t = title(g.rng, k) // renamed
		}
		ver := model.Version{ContentID: c.ID, Number: v, Title: t, Body: body(g.rng, refs, 1+g.rng.Intn(6)), Author: g.anyUser(), At: at, MinorEdit: g.rng.Intn(4) == 0}
		if v > 1 && g.rng.Intn(3) == 0 {
			ver.Message = sentence(g.rng, 5)
		}
		if err := tx.AddVersion(ver); err != nil {
			return err
		}
		at = at.Add(time.Duration(1+g.rng.Intn(72)) * time.Hour)
	}
	return g.extras(tx, c)
}

func (g *gen) blogpost(tx *embedded.Tx, sp model.Space, pages []pageInfo) error {
	c := model.Content{ID: g.id(), Type: "blogpost", SpaceID: sp.ID, Status: "current", CreatedAt: g.tick(6 * time.Hour), Author: g.anyUser()}
	if g.rng.Intn(20) == 0 {
		c.Status = "trashed"
	}
	if err := tx.CreateContent(c); err != nil {
		return err
	}
	for v := 1; v <= 1+g.rng.Intn(2); v++ {
		ver := model.Version{ContentID: c.ID, Number: v, Title: "News: " + title(g.rng, v), Body: body(g.rng, bodyRefs{spaceKey: sp.Key, accountIDs: g.anyUser}, 2+g.rng.Intn(4)),
			Author: c.Author, At: c.CreatedAt.Add(time.Duration(v-1) * time.Hour)}
		if err := tx.AddVersion(ver); err != nil {
			return err
		}
	}
	return g.extras(tx, c)
}

// attachments adds a page's attachments while the byte budget lasts and
// returns their filenames.
func (g *gen) attachments(tx *embedded.Tx, c model.Content) ([]string, error) {
	if g.budget <= 0 || g.rng.Intn(3) != 0 {
		return nil, nil
	}
	var files []string
	for n := 1 + g.rng.Intn(3); n > 0 && g.budget > 0; n-- {
		mt := mediaTypes[g.rng.Intn(len(mediaTypes))]
		a := model.Attachment{ID: g.id(), ContainerID: c.ID, Filename: fmt.Sprintf("%s-%d.%s", pick(g.rng, words), len(files)+1, mt.ext),
			MediaType: mt.media, Author: g.anyUser(), CreatedAt: c.CreatedAt}
		if err := tx.CreateAttachment(a); err != nil {
			return nil, err
		}
		files = append(files, a.Filename)
		for v := 1; v <= 1+int(g.rng.ExpFloat64()*0.7) && g.budget > 0; v++ {
			if err := g.attachmentVersion(tx, a, v, mt.text); err != nil {
				return nil, err
			}
		}
	}
	return files, nil
}

func (g *gen) attachmentVersion(tx *embedded.Tx, a model.Attachment, v int, text bool) error {
	var data []byte
	if len(g.recent) > 0 && g.rng.Intn(7) == 0 {
		data = g.recent[g.rng.Intn(len(g.recent))] // the same file attached again
	} else {
		size := int64(math.Exp(8 + g.rng.NormFloat64()*1.6)) // median about 3 KB, a long tail of MBs
		size = max(16, min(size, 64<<20, g.budget))
		data = attachmentBytes(g.rng, int(size), text)
		g.budget -= size
		if len(data) <= 1<<20 {
			if len(g.recent) >= 32 {
				g.recent = g.recent[1:]
			}
			g.recent = append(g.recent, data)
		}
	}
	digest, err := tx.PutBlob(data)
	if err != nil {
		return err
	}
	return tx.AddAttachmentVersion(model.AttachmentVersion{AttachmentID: a.ID, Number: v, Blob: digest, Size: int64(len(data)),
		MediaType: a.MediaType, Author: g.anyUser(), At: a.CreatedAt.Add(time.Duration(v-1) * 24 * time.Hour)})
}

// extras adds comments, labels, restrictions, properties and likes.
func (g *gen) extras(tx *embedded.Tx, c model.Content) error {
	var comments []model.Comment
	for n := int(g.rng.ExpFloat64() * 0.6); n > 0; n-- {
		cm := model.Comment{ID: g.id(), ContainerID: c.ID, Location: "footer", Status: "current", Author: g.anyUser(), CreatedAt: c.CreatedAt.Add(time.Duration(1+g.rng.Intn(100)) * time.Hour)}
		if len(comments) > 0 && g.rng.Intn(3) == 0 {
			parent := comments[g.rng.Intn(len(comments))]
			cm.ParentID, cm.Location = parent.ID, parent.Location // a reply is of its thread's kind
		} else if g.rng.Intn(5) == 0 {
			cm.Location = "inline"
			cm.Anchor = &model.InlineAnchor{Selection: sentence(g.rng, 3), MatchIndex: g.rng.Intn(3), MarkerRef: fmt.Sprintf("marker-%d", g.rng.Intn(1e6))}
		}
		if err := tx.CreateComment(cm); err != nil {
			return err
		}
		comments = append(comments, cm)
		for v := 1; v <= 1+g.rng.Intn(2); v++ {
			if err := tx.AddCommentVersion(model.Version{ContentID: cm.ID, Number: v, Body: "<p>" + xmlEscape(sentence(g.rng, 8+g.rng.Intn(20))) + "</p>",
				Author: cm.Author, At: cm.CreatedAt.Add(time.Duration(v-1) * time.Hour)}); err != nil {
				return err
			}
		}
	}
	for n := g.rng.Intn(4); n > 0; n-- {
		if err := tx.AddLabel(model.Label{ContainerID: c.ID, Prefix: "global", Name: pick(g.rng, words)}); err != nil {
			return err
		}
	}
	if g.rng.Intn(30) == 0 {
		for _, op := range []string{"read", "update"} {
			r := model.Restriction{ContainerID: c.ID, Operation: op, PrincipalType: "user", PrincipalID: c.Author}
			if g.rng.Intn(2) == 0 {
				r.PrincipalType, r.PrincipalID = "group", g.groups[g.rng.Intn(len(g.groups))]
			}
			if err := tx.AddRestriction(r); err != nil {
				return err
			}
		}
	}
	if g.rng.Intn(10) == 0 {
		value, _ := json.Marshal(map[string]any{"reviewed": g.rng.Intn(2) == 0, "owner": g.anyUser()})
		if err := tx.SetProperty(model.Property{ContainerID: c.ID, Key: "content-review", Value: value, Version: 1}); err != nil {
			return err
		}
	}
	for n := int(g.rng.ExpFloat64() * 0.8); n > 0; n-- {
		target, kind := c.ID, c.Type
		if len(comments) > 0 && g.rng.Intn(4) == 0 {
			target, kind = comments[g.rng.Intn(len(comments))].ID, "comment"
		}
		if err := tx.AddLike(model.Like{ContainerID: target, ContainerType: kind, AccountID: g.anyUser(), At: c.CreatedAt.Add(48 * time.Hour)}); err != nil {
			return err
		}
	}
	return nil
}

// setClock remembers where the site's history ends, for Evolve.
func (g *gen) setClock(ctx context.Context) error {
	_, err := g.site.DB().ExecContext(ctx, `INSERT INTO meta(key, value) VALUES ('clock', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
		g.clock.UTC().Format(time.RFC3339Nano))
	return err
}
