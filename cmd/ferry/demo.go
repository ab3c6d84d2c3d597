package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

func newDemoCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "demo [--dir DIR]",
		Short: "Run the whole journey on synthetic data, printing each step",
		Long: `demo generates a synthetic site, exports it, verifies and inspects the archive, imports it
into a new site and compares the copy with the source; then edits the source,
exports only the changes, imports them and compares again; and shows that a
damaged archive is refused. Each step prints the command it runs. The files
stay in DIR.`,
		Example: "  ferry demo --dir /tmp/ferry-demo",
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDemo(dir)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "ferry-demo", "where the demo's sites and archives go (emptied first)")
	return cmd
}

func runDemo(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	step := func(title string, wantExit int, args ...string) error {
		fmt.Printf("\n== %s\n$ ferry %s\n", title, shellQuote(args))
		if code := run(args); code != wantExit {
			return fmt.Errorf("demo: ferry %s exited %d, want %d", strings.Join(args, " "), code, wantExit)
		}
		return nil
	}
	steps := []struct {
		title string
		exit  int
		args  []string
	}{
		{"generate a synthetic source site (the same seed gives the same site)", 0,
			[]string{"generate", "--out", p("source.db"), "--users", "150", "--spaces", "6", "--pages", "1500", "--seed", "42", "--attachment-bytes", "4000000", "--progress", "never"}},
		{"export the whole site to one archive", 0, []string{"export", "--from", p("source.db"), "--out", p("full.ferry"), "--progress", "never"}},
		{"verify re-reads every byte and checks every checksum", 0, []string{"verify", p("full.ferry")}},
		{"inspect it offline: what is inside, what will not be copied, whose personal data", 0, []string{"inspect", p("full.ferry")}},
		{"a self-contained HTML report for reviewers", 0, []string{"inspect", p("full.ferry"), "--report", p("report.html")}},
		{"ask it anything in SQL", 0, []string{"inspect", p("full.ferry"), "--sql", "SELECT space_key, count(*) AS pages, sum(versions) AS versions FROM pages GROUP BY 1 ORDER BY 2 DESC"}},
		{"dry run: what an import into a new site would do, writing nothing", 0, []string{"import", p("full.ferry"), "--to", p("copy.db"), "--dry-run", "--allow-missing-apps", "--progress", "never"}},
		{"the new site lacks the source's apps: import stops before writing anything (exit 1)", 1, []string{"import", p("full.ferry"), "--to", p("copy.db"), "--progress", "never"}},
		{"import it into the new site, acknowledging that app data is not copied", 0, []string{"import", p("full.ferry"), "--to", p("copy.db"), "--allow-missing-apps", "--progress", "never"}},
		{"the copy holds the same content as the source", 0, []string{"compare", p("source.db"), p("copy.db")}},
		{"importing again changes nothing", 0, []string{"import", p("full.ferry"), "--to", p("copy.db"), "--progress", "never"}},
		{"a week of edits at the source", 0, []string{"generate", "--evolve", p("source.db"), "--changes", "400", "--seed", "7"}},
		{"export only what changed since the full archive", 0, []string{"export", "--from", p("source.db"), "--out", p("week1.ferry"), "--since", p("full.ferry"), "--progress", "never"}},
		{"import the changes", 0, []string{"import", p("week1.ferry"), "--to", p("copy.db"), "--progress", "never"}},
		{"the copy follows the source", 0, []string{"compare", p("source.db"), p("copy.db")}},
	}
	for _, s := range steps {
		if err := step(s.title, s.exit, s.args...); err != nil {
			return err
		}
	}
	data, err := os.ReadFile(p("full.ferry"))
	if err != nil {
		return err
	}
	data[len(data)/2] ^= 0x20
	if err := os.WriteFile(p("damaged.ferry"), data, 0o644); err != nil {
		return err
	}
	if err := step("a copy with one byte changed is refused, naming the damaged member (exit 1)", 1, "verify", p("damaged.ferry")); err != nil {
		return err
	}
	if err := step("and import refuses it before writing anything (exit 1)", 1, "import", p("damaged.ferry"), "--to", p("other.db")); err != nil {
		return err
	}
	// Hand-offs between organizations: signed, encrypted, redacted.
	if err := step("a signing key for the producer", 0, "keygen", "--out", p("producer"), "--signer", "Source IT"); err != nil {
		return err
	}
	if err := step("an age identity for the receiver: its public half goes to the producer", 0, "keygen", "--age", "--out", p("receiver")); err != nil {
		return err
	}
	rcpt, err := os.ReadFile(p("receiver.pub"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(p("redact.key"), []byte("demo pseudonym key, keep it secret"), 0o600); err != nil {
		return err
	}
	for _, s := range []struct {
		title string
		exit  int
		args  []string
	}{
		{"export signed, and encrypted for the receiver only", 0, []string{"export", "--from", p("source.db"), "--out", p("sealed.ferry"), "--sign", p("producer"), "--recipient", strings.TrimSpace(string(rcpt)), "--progress", "never"}},
		{"anyone can check its integrity and who signed it, without the key", 0, []string{"verify", p("sealed.ferry"), "--trust", p("producer.pub")}},
		{"but not read it (exit 1)", 1, []string{"inspect", p("sealed.ferry")}},
		{"the receiver can", 0, []string{"inspect", p("sealed.ferry"), "--identity", p("receiver"), "--sql", "SELECT count(*) AS pages FROM pages"}},
		{"a copy for a reviewer, with emails and names pseudonymized and bodies blanked", 0, []string{"redact", p("full.ferry"), "--out", p("review.ferry"), "--key-file", p("redact.key")}},
		{"it inspects like any archive", 0, []string{"inspect", p("review.ferry"), "--sql", "SELECT account_id, email, display_name FROM users ORDER BY account_id LIMIT 3"}},
	} {
		if err := step(s.title, s.exit, s.args...); err != nil {
			return err
		}
	}
	fmt.Printf("\nThe demo's files are in %s/: source.db and copy.db are sites (SQLite), *.ferry are archives (tar).\n", dir)
	return nil
}

// shellQuote writes args as a POSIX shell would need them to be typed, so
// a printed command can be pasted: single quotes around any that need
// them.
func shellQuote(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
		}) < 0 {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}
