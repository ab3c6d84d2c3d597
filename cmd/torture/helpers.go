package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	_ "github.com/mattn/go-sqlite3" // to read the sites the trials wrote
)

// token is the sandbox's, for the trials over HTTP.
const token = "torture-token"

type torture struct {
	c   config
	rng *rand.Rand
	ctx context.Context

	site, archive        string // the site of the crash and corruption trials, and its archive
	small, smallArchive  string // the site imported over HTTP
	importTime, httpTime time.Duration
	clean, httpReference string // fingerprints of a clean import, embedded and over HTTP
	smallDigest          string // events digest of a clean export of small through a sandbox
}

func (t *torture) path(name string) string { return filepath.Join(t.c.dir, name) }

// ferry runs the ferry binary and waits for it.
func (t *torture) ferry(args ...string) (stdout, stderr string, code int) {
	cmd := t.command(args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
		errb.WriteString(err.Error())
	}
	return out.String(), errb.String(), code
}

// command prepares a ferry run with Cloud credentials in its environment,
// and inspect's cache in the working folder, not the user's.
func (t *torture) command(args ...string) *exec.Cmd {
	cmd := exec.Command(t.c.ferry, args...)
	cmd.Env = append(os.Environ(), "FERRY_EMAIL=torture@example.com", "FERRY_API_TOKEN="+token, "FERRY_SANDBOX_TOKEN="+token,
		"XDG_CACHE_HOME="+t.path("cache"))
	return cmd
}

// must runs ferry and fails the setup unless it exits 0.
func (t *torture) must(args ...string) (string, error) {
	out, errOut, code := t.ferry(args...)
	if code != 0 {
		return "", fmt.Errorf("ferry %s: exit %d: %s", strings.Join(args, " "), code, lastLines(errOut, 5))
	}
	return out, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// sandbox serves an embedded site through ferry sandbox until stop.
type sandbox struct {
	cmd  *exec.Cmd
	addr string
}

func (t *torture) startSandbox(site string, args ...string) (*sandbox, error) {
	cmd := t.command(append([]string{"sandbox", "--site", site, "--listen", "127.0.0.1:0"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	lines := bufio.NewScanner(stderr)
	addr := ""
	deadline := time.Now().Add(20 * time.Second)
	for addr == "" && time.Now().Before(deadline) && lines.Scan() {
		if _, rest, ok := strings.Cut(lines.Text(), " at http://"); ok {
			addr, _, _ = strings.Cut(rest, "/wiki")
		}
	}
	if addr == "" {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("the sandbox on %s did not say where it serves", site)
	}
	go func() {
		for lines.Scan() {
		}
	}()
	return &sandbox{cmd: cmd, addr: "http://" + addr}, nil
}

// stop ends the sandbox gracefully, so its site is whole.
func (s *sandbox) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

// killAfter starts cmd and kills it with SIGKILL after d, unless it ended
// before; it reports whether the kill came first.
func killAfter(cmd *exec.Cmd, d time.Duration) (killed bool, err error) {
	if err := cmd.Start(); err != nil {
		return false, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return false, nil
	case <-time.After(d):
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
		return true, nil
	}
}

// fingerprint sums up a site's live content without ids: counts of every
// kind, every page's and blog post's latest title and status, and the page
// tree by title. Two imports of the same archive have the same one; a
// duplicate or a loss changes it.
func fingerprint(site string) (string, error) {
	db, err := sql.Open("sqlite3", "file:"+site+"?mode=ro")
	if err != nil {
		return "", err
	}
	defer db.Close()
	latest := `(SELECT v.title FROM content_versions v WHERE v.content_id = %s ORDER BY v.number DESC LIMIT 1)`
	queries := []string{
		`SELECT count(*) FROM groups WHERE deleted_rev IS NULL`,
		`SELECT count(*) FROM memberships WHERE deleted_rev IS NULL`,
		`SELECT count(*) FROM spaces WHERE deleted_rev IS NULL`,
		`SELECT count(*) FROM space_permissions WHERE deleted_rev IS NULL`,
		`SELECT count(*) FROM content WHERE deleted_rev IS NULL`,
		`SELECT count(*) FROM content_versions v JOIN content c ON c.id = v.content_id WHERE c.deleted_rev IS NULL`,
		`SELECT count(*) FROM comments WHERE deleted_rev IS NULL`,
		`SELECT count(*) FROM comment_versions v JOIN comments c ON c.id = v.comment_id WHERE c.deleted_rev IS NULL`,
		`SELECT count(*) FROM attachment_versions v JOIN attachments a ON a.id = v.attachment_id WHERE a.deleted_rev IS NULL`,
		`SELECT count(*) FROM labels WHERE deleted_rev IS NULL`,
		`SELECT count(*) FROM restrictions WHERE deleted_rev IS NULL`,
		`SELECT count(*) FROM properties WHERE deleted_rev IS NULL AND key != 'ferry.source'`,
		`SELECT coalesce(group_concat(t, '|'), '') FROM (SELECT ` + fmt.Sprintf(latest, "c.id") + ` || ':' || c.status AS t
			FROM content c WHERE c.deleted_rev IS NULL ORDER BY 1)`,
		`SELECT coalesce(group_concat(t, '|'), '') FROM (SELECT ` + fmt.Sprintf(latest, "c.id") + ` || '>' || coalesce(` + fmt.Sprintf(latest, "c.parent_id") + `, '') AS t
			FROM content c WHERE c.deleted_rev IS NULL ORDER BY 1)`,
	}
	var b strings.Builder
	for _, q := range queries {
		var v string
		if err := db.QueryRow(q).Scan(&v); err != nil {
			return "", fmt.Errorf("%s: %w", site, err)
		}
		b.WriteString(v)
		b.WriteString("\n")
	}
	return b.String(), nil
}

// fingerprintDiff says, briefly, how two fingerprints differ.
func fingerprintDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	names := []string{"groups", "memberships", "spaces", "permissions", "content", "versions", "comments", "comment versions",
		"attachment versions", "labels", "restrictions", "properties", "titles", "tree"}
	for i := range w {
		if i < len(g) && w[i] != g[i] {
			if i < 12 {
				return fmt.Sprintf("%s: %s, want %s", names[i], g[i], w[i])
			}
			return names[i] + " differ"
		}
	}
	return "differs"
}

// removeSite removes a site with its WAL files.
func removeSite(path string) {
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		os.Remove(path + suffix)
	}
}
