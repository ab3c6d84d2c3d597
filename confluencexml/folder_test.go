package confluencexml

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/embedded"
)

// hostileFolder writes an export folder beside a secret file, with
// attachment files that are links to the secret. It returns the folder
// and the secret.
func hostileFolder(t testing.TB, root string, entities string) (export string, secret []byte) {
	t.Helper()
	secret = []byte("password=hunter2 (a file outside the export)")
	if err := os.WriteFile(filepath.Join(root, ".git-credentials"), secret, 0o600); err != nil {
		t.Fatal(err)
	}
	export = filepath.Join(root, "export")
	write := func(name string, data []byte) {
		p := filepath.Join(export, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("entities.xml", []byte(entities))
	write("attachments/2/30/1", []byte("a real attachment"))
	// Links: to the secret by absolute path, by a relative one, and to a
	// folder outside.
	for _, l := range []struct{ name, to string }{
		{"attachments/2/31/1", filepath.Join(root, ".git-credentials")},
		{"attachments/2/32/1", "../../../../.git-credentials"},
		{"attachments/2/33", root},
	} {
		p := filepath.Join(export, l.name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.Symlink(l.to, p); err != nil {
			t.Fatal(err)
		}
	}
	return export, secret
}

const hostileEntities = `<hibernate-generic>
<object class="Space"><id name="id">1</id><property name="key">K</property></object>
<object class="Page"><id name="id">2</id><property name="title">P</property><property name="version">1</property>
	<property name="space" class="Space"><id name="id">1</id></property></object>
<object class="Page"><id name="id">..</id><property name="title">Dots</property><property name="version">1</property>
	<property name="space" class="Space"><id name="id">1</id></property></object>
<object class="Attachment"><id name="id">30</id><property name="title">ok.txt</property><property name="version">1</property>
	<property name="containerContent" class="Page"><id name="id">2</id></property></object>
<object class="Attachment"><id name="id">31</id><property name="title">abs-link.txt</property><property name="version">1</property>
	<property name="containerContent" class="Page"><id name="id">2</id></property></object>
<object class="Attachment"><id name="id">32</id><property name="title">rel-link.txt</property><property name="version">1</property>
	<property name="containerContent" class="Page"><id name="id">2</id></property></object>
<object class="Attachment"><id name="id">33</id><property name="title">dir-link</property><property name="version">.git-credentials</property>
	<property name="containerContent" class="Page"><id name="id">2</id></property></object>
<object class="Attachment"><id name="id">..</id><property name="title">creds</property><property name="version">.git-credentials</property>
	<property name="containerContent" class="Page"><id name="id">..</id></property></object>
</hibernate-generic>`

// blobsHolding returns the site's attachment versions whose bytes contain
// needle.
func blobsHolding(t testing.TB, site *embedded.Site, needle []byte) []string {
	t.Helper()
	rows, err := site.DB().Query(`SELECT attachment_id, number, blob FROM attachment_versions`)
	if err != nil {
		t.Fatal(err)
	}
	type version struct {
		id, blob string
		n        int
	}
	var vers []version
	for rows.Next() {
		var v version
		if err := rows.Scan(&v.id, &v.n, &v.blob); err != nil {
			t.Fatal(err)
		}
		vers = append(vers, v)
	}
	rows.Close()
	var out []string
	for _, v := range vers {
		r, _, err := site.OpenBlob(ctx, v.blob)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(r)
		r.Close()
		if bytes.Contains(b.Bytes(), needle) {
			out = append(out, fmt.Sprintf("%s v%d", v.id, v.n))
		}
	}
	return out
}

// An export folder is read through an os.Root: ids that climb out of
// attachments/ and attachment files that are links are refused and
// reported, and nothing outside the folder is read. (Before the fix,
// Page ".." with version ".git-credentials" copied ../.git-credentials,
// and links were followed.)
func TestFolderExportReadsNothingOutside(t *testing.T) {
	root := t.TempDir()
	export, secret := hostileFolder(t, root, hostileEntities)
	dir := t.TempDir()
	site, err := embedded.Create(filepath.Join(dir, "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	rep, err := Load(ctx, export, site, dir)
	if err != nil {
		t.Fatalf("the export is refused as a whole, want the bad attachments reported: %v", err)
	}
	if got := blobsHolding(t, site, secret); len(got) > 0 {
		t.Fatalf("attachment versions %v hold the secret from outside the export", got)
	}
	if got := blobsHolding(t, site, []byte("a real attachment")); len(got) != 1 {
		t.Errorf("the plain attachment was copied %d times, want once", len(got))
	}
	var refused []string
	for _, s := range rep.Skipped {
		if s.Class == "Attachment.version" && strings.Contains(s.Reason, "refused") {
			refused = append(refused, s.ID+": "+s.Reason+" ("+s.Detail+")")
		}
	}
	// 31 and 32 are links, 33/.git-credentials is under a link to a
	// folder outside, and ../.git-credentials is a path outside.
	if len(refused) != 4 {
		t.Fatalf("refused %d attachment versions, want 4:\n%s", len(refused), strings.Join(refused, "\n"))
	}
	for _, want := range []string{"symbolic link", "outside attachments/"} {
		if !strings.Contains(strings.Join(refused, "\n"), want) {
			t.Errorf("no refusal says %q:\n%s", want, strings.Join(refused, "\n"))
		}
	}
}

// FuzzFolder feeds arbitrary entities.xml to the folder form of an export
// that sits beside a secret and holds links to it: whatever the ids say,
// no attachment may hold the secret's bytes.
func FuzzFolder(f *testing.F) {
	f.Add([]byte(hostileEntities))
	f.Add([]byte(`<hibernate-generic><object class="Space"><id name="id">1</id></object><object class="Page"><id name="id">..</id><property name="space" class="Space"><id name="id">1</id></property></object><object class="Attachment"><id name="id">..</id><property name="version">.git-credentials</property><property name="containerContent" class="Page"><id name="id">..</id></property></object></hibernate-generic>`))
	root := f.TempDir()
	export, secret := hostileFolder(f, root, "")
	f.Fuzz(func(t *testing.T, data []byte) {
		timer := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("input loaded for over 10 s: %q", data)) })
		defer timer.Stop()
		if err := os.WriteFile(filepath.Join(export, "entities.xml"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		site, err := embedded.Create(filepath.Join(dir, "s.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer site.Close()
		if _, err := Load(ctx, export, site, dir); err != nil {
			return // a refused export reads nothing
		}
		if got := blobsHolding(t, site, secret); len(got) > 0 {
			t.Fatalf("attachment versions %v hold the secret from outside the export", got)
		}
	})
}
