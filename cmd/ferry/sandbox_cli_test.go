package main

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ferry sandbox serves a site; ferry export reads it back through the REST
// API with credentials from the environment, through faults and a rate
// limit, and never shows the token.
func TestSandboxAndCloudExportCLI(t *testing.T) {
	dir := t.TempDir()
	site := filepath.Join(dir, "s.db")
	must(t, 0, "generate", "--out", site, "--users", "10", "--spaces", "2", "--pages", "12", "--progress", "never")
	addr := startSandbox(t, site, "--fail-rate", "0.1")
	arch := filepath.Join(dir, "c.ferry")
	export := func(token string) (string, string, int) {
		return withToken(token, "export", "--from", "http://"+addr, "--out", arch, "--progress", "never")
	}
	_, errOut, code := export("wrong-token")
	if code != 1 || !strings.Contains(errOut, "401") || strings.Contains(errOut, "wrong-token") {
		t.Fatalf("wrong token: exit %d, %s", code, errOut)
	}
	out, errOut, code := export("sandbox-secret-token")
	if code != 0 || strings.Contains(out+errOut, "sandbox-secret-token") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "page") || strings.Contains(out, "NOT THE WHOLE SITE") {
		t.Errorf("export summary: %s", out)
	}
	out, _ = must(t, 0, "inspect", arch, "--sql", "SELECT count(*) FROM pages", "--format", "csv")
	if !strings.HasSuffix(strings.TrimSpace(out), "\n12") {
		t.Errorf("pages through the API: %s", out)
	}

	// A site without admin keys: the export and the review say plainly
	// that restricted content the account cannot see is not in it.
	addr = startSandbox(t, site, "--no-admin-key")
	out, errOut, code = withToken("sandbox-secret-token", "export", "--from", "http://"+addr, "--out", arch, "--progress", "never")
	const gap = "NOT THE WHOLE SITE: exported without an admin key"
	if code != 0 || !strings.Contains(out, gap) {
		t.Fatalf("export without an admin key: exit %d\n%s\n%s", code, out, errOut)
	}
	out, _ = must(t, 0, "inspect", arch)
	if !strings.Contains(out, gap) || !strings.Contains(out, "Restricted content") {
		t.Errorf("inspect of an export without an admin key:\n%s", out)
	}
}

// startSandbox serves site with ferry sandbox (token sandbox-secret-token)
// and returns its address.
func startSandbox(t *testing.T, site string, args ...string) string {
	t.Helper()
	cmd := exec.Command(ferryBin, append([]string{"sandbox", "--site", site, "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "FERRY_SANDBOX_TOKEN=sandbox-secret-token")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(stderr)
	addr := ""
	deadline := time.Now().Add(10 * time.Second)
	for addr == "" && time.Now().Before(deadline) && lines.Scan() {
		if _, rest, ok := strings.Cut(lines.Text(), " at http://"); ok {
			addr, _, _ = strings.Cut(rest, "/wiki")
		}
	}
	if addr == "" {
		t.Fatal("the sandbox did not say where it serves")
	}
	go func() {
		for lines.Scan() {
		}
	}()
	return addr
}

// withToken runs ferry with Cloud credentials in its environment.
func withToken(token string, args ...string) (string, string, int) {
	return withEnv(nil, []string{"FERRY_EMAIL=admin@example.com", "FERRY_API_TOKEN=" + token}, args...)
}

// withEnv runs ferry with env added to its environment.
func withEnv(_ *testing.T, env []string, args ...string) (string, string, int) {
	c := exec.Command(ferryBin, args...)
	c.Env = append(os.Environ(), env...)
	var out, errb strings.Builder
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return out.String(), errb.String(), code
}

// Importing into Confluence Cloud (a sandbox standing in for a new site):
// a wrong token, an account that is not a site admin, and apps the site
// lacks each stop the import before any write, saying what is missing;
// then it imports, and a second run writes nothing.
func TestCloudImportPreflightCLI(t *testing.T) {
	dir := t.TempDir()
	site, dest := filepath.Join(dir, "s.db"), filepath.Join(dir, "dest.db")
	must(t, 0, "generate", "--out", site, "--users", "8", "--spaces", "1", "--pages", "6", "--progress", "never")
	arch := filepath.Join(dir, "s.ferry")
	must(t, 0, "export", "--from", site, "--out", arch, "--progress", "never")
	countWrites := func() string {
		out, _ := must(t, 0, "inspect", arch, "--sql", "SELECT 1", "--format", "csv") // keeps the archive readable
		_ = out
		st, err := os.Stat(dest)
		if err != nil {
			return "no site"
		}
		return st.ModTime().String()
	}
	readOnly := startSandbox(t, dest, "--read-only")
	before := countWrites()
	journal := filepath.Join(dir, "j.db")
	importTo := func(addr, token string, extra ...string) (string, string, int) {
		return withToken(token, append([]string{"import", arch, "--to", "http://" + addr, "--journal", journal, "--progress", "never"}, extra...)...)
	}
	_, errOut, code := importTo(readOnly, "wrong-token")
	if code != 1 || !strings.Contains(errOut, "401") || strings.Contains(errOut, "wrong-token") {
		t.Fatalf("wrong token: exit %d, %s", code, errOut)
	}
	_, errOut, code = importTo(readOnly, "sandbox-secret-token")
	if code != 1 || !strings.Contains(errOut, "administer application") || !strings.Contains(errOut, "nothing was imported") {
		t.Fatalf("non-admin: exit %d, %s", code, errOut)
	}
	admin := startSandbox(t, dest)
	_, errOut, code = importTo(admin, "sandbox-secret-token")
	if code != 1 || !strings.Contains(errOut, "draw.io") || !strings.Contains(errOut, "--allow-missing-apps") {
		t.Fatalf("missing apps: exit %d, %s", code, errOut)
	}
	if after := countWrites(); after != before {
		t.Errorf("failed preflights changed the destination (%s, then %s)", before, after)
	}
	out, errOut, code := importTo(admin, "sandbox-secret-token", "--allow-missing-apps")
	if code != 0 || !strings.Contains(out, "app missing at the destination") {
		t.Fatalf("import: exit %d\n%s\n%s", code, out, errOut)
	}
	os.Remove(journal) // even without its journal, a second run writes nothing
	out, errOut, code = importTo(admin, "sandbox-secret-token", "--allow-missing-apps", "--format", "json")
	if code != 0 || strings.Contains(out, `"created":1`) || strings.Contains(out, `"created":2`) {
		t.Fatalf("second run: exit %d\n%s\n%s", code, out, errOut)
	}
}

// People into Confluence Cloud, as an admin runs it: inspect --against
// says who may use the site, and writes those who may not to a CSV for
// Atlassian's user import; an import without --invite invites nobody and
// lists what it could not grant them; --invite invites them, after the
// review is shown, and once the invitations take effect nobody lacks access.
func TestCloudPeopleCLI(t *testing.T) {
	dir := t.TempDir()
	site, dest := filepath.Join(dir, "s.db"), filepath.Join(dir, "dest.db")
	must(t, 0, "generate", "--out", site, "--users", "12", "--spaces", "1", "--pages", "6", "--progress", "never")
	arch := filepath.Join(dir, "s.ferry")
	must(t, 0, "export", "--from", site, "--out", arch, "--progress", "never")
	// The destination knows the same Atlassian accounts (a copy of the
	// site stands in); about half of them may not use it.
	data, err := os.ReadFile(site)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(dest, data, 0o600)
	addr := startSandbox(t, dest, "--without-access", "0.5", "--invite-time", "1s")
	users := filepath.Join(dir, "invite.csv")
	out, errOut, code := withToken("sandbox-secret-token", "inspect", arch, "--against", "http://"+addr, "--users-csv", users)
	if code != 0 {
		t.Fatalf("inspect --against: exit %d\n%s\n%s", code, out, errOut)
	}
	without := reviewCount(t, out, "users without access: ")
	if without == 0 || without == 12 {
		t.Fatalf("%d of 12 users without access, want about half:\n%s", without, out)
	}
	rows := readCSV(t, users)
	if strings.Join(rows[0], ",") != "Username,First Name,Last Name,Email Address" || len(rows)-1 != without {
		t.Errorf("users CSV: header %v and %d rows, want %d:\n%v", rows[0], len(rows)-1, without, rows)
	}
	for _, r := range rows[1:] {
		if !strings.Contains(r[3], "@") || r[0] != r[3] {
			t.Errorf("users CSV row %v: want the email as user name and email", r)
		}
	}
	// The HTML report's review counts the same.
	report := filepath.Join(dir, "review.html")
	if out, errOut, code := withToken("sandbox-secret-token", "inspect", arch, "--against", "http://"+addr, "--report", report); code != 0 {
		t.Fatalf("inspect --report: exit %d\n%s\n%s", code, out, errOut)
	}
	html, _ := os.ReadFile(report)
	if !strings.Contains(string(html), fmt.Sprintf(`<tr><th>users without access (an invitation grows the bill)</th><td class="n">%d</td></tr>`, without)) {
		t.Errorf("the report's review does not count %d users without access", without)
	}
	if _, errOut, code := withToken("sandbox-secret-token", "inspect", arch, "--against", filepath.Join(dir, "local.db"), "--users-csv", users); code != 2 || !strings.Contains(errOut, "--users-csv") {
		t.Errorf("--users-csv against an embedded site: exit %d, %s", code, errOut)
	}

	importTo := func(extra ...string) string {
		t.Helper()
		args := append([]string{"import", arch, "--to", "http://" + addr, "--journal", filepath.Join(dir, "j.db"), "--on-conflict", "skip", "--allow-missing-apps", "--progress", "never"}, extra...)
		out, errOut, code := withToken("sandbox-secret-token", args...)
		if code != 0 {
			t.Fatalf("import %v: exit %d\n%s\n%s", extra, code, out, errOut)
		}
		return out
	}
	out = importTo("--dry-run")
	if got := reviewCount(t, out, "users without access: "); got != without || strings.Contains(out, "inviting") {
		t.Errorf("a dry run: %d without access (want %d), or it invited:\n%s", got, without, out)
	}
	out = importTo("--invite", "--invite-wait", "30s")
	review, after, _ := strings.Cut(out, "inviting those without access")
	if !strings.Contains(review, "review of the people, before any write") || reviewCount(t, review, "users without access: ") != without {
		t.Errorf("the review before the invitations:\n%s", out)
	}
	if !strings.Contains(after, fmt.Sprintf("invited by this run: %d; not yet in effect when it went on: 0", without)) {
		t.Errorf("the invitations:\n%s", out)
	}
	out, _, _ = withToken("sandbox-secret-token", "inspect", arch, "--against", "http://"+addr)
	if got := reviewCount(t, out, "users without access: "); got != 0 {
		t.Errorf("after the invitations, %d users still without access:\n%s", got, out)
	}
}

// reviewCount reads the number after label in a review.
func reviewCount(t *testing.T, out, label string) int {
	t.Helper()
	_, rest, ok := strings.Cut(out, label)
	if !ok {
		t.Fatalf("no %q in:\n%s", label, out)
	}
	var n int
	fmt.Sscan(rest, &n)
	return n
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

// An XML export with damage in it converts, and the export's summary ends
// with what it could not keep, counted per reason.
func TestXMLExportCountsDamagePerReason(t *testing.T) {
	out, _ := must(t, 0, "export", "--from", "xml:../../confluencexml/testdata/damaged", "--out", filepath.Join(t.TempDir(), "d.ferry"), "--progress", "never")
	if !strings.Contains(out, "  passes   index ") {
		t.Errorf("the summary does not time the conversion's passes:\n%s", out)
	}
	_, tail, ok := strings.Cut(out, "per reason:\n")
	if !ok || !strings.Contains(tail, "3  Page: characters XML 1.0 cannot hold") || !strings.Contains(tail, "1  BodyContent: characters XML 1.0 cannot hold") ||
		!strings.Contains(tail, "1  Page: an object whose class and id an earlier one in the file has") {
		t.Errorf("the summary's counts per reason:\n%s", out)
	}
}

// Into a site that gives space access through roles (ferry sandbox
// --roles), as an admin runs it: the import says so, and that each space
// was created with roles for exactly the source's users and groups.
func TestCloudRoleBasedSiteCLI(t *testing.T) {
	dir := t.TempDir()
	site := filepath.Join(dir, "s.db")
	must(t, 0, "generate", "--out", site, "--users", "6", "--spaces", "1", "--pages", "5", "--progress", "never")
	arch := filepath.Join(dir, "s.ferry")
	must(t, 0, "export", "--from", site, "--out", arch, "--progress", "never")
	addr := startSandbox(t, filepath.Join(dir, "dest.db"), "--roles")
	out, errOut, code := withToken("sandbox-secret-token", "import", arch, "--to", "http://"+addr, "--journal", filepath.Join(dir, "j.db"), "--allow-missing-apps", "--progress", "never")
	if code != 0 || !strings.Contains(out, "note: the destination gives space access through roles") || !strings.Contains(out, "created with roles for exactly the source's users and groups") {
		t.Errorf("import into a role-based site: exit %d\n%s\n%s", code, out, errOut)
	}
}
