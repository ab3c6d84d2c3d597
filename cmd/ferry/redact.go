package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"ferry/archive"
	"ferry/redact"

	"github.com/spf13/cobra"
)

func newRedactCmd() *cobra.Command {
	var out, keyFile, format string
	var fields []string
	var keys keyFlags
	cmd := &cobra.Command{
		Use:   "redact ARCHIVE --out REDACTED [--fields emails,names,bodies,titles,attachments]",
		Short: "Write a copy of an archive for reviewers, without its personal data",
		Long: `redact writes a copy of an archive in which personal data is replaced:

  emails       every email address, wherever it is (user emails, account ids
               that are emails, titles, bodies, properties), becomes
               user-<pseudonym>@redacted.invalid
  names        users' display names, wherever they appear, become
               "Person <pseudonym>"; the source's location is left out
  bodies       page, blog post and comment bodies, version messages, inline
               comment anchors, space descriptions and templates, attachment
               comments and content property values become runs of "x" of the
               same length
  titles       page and blog post titles, space, group, template and category
               names, labels and file names become pseudonyms ("Title 3f9a...",
               "label-...", "file-....pdf"): equal names stay equal
  attachments  attachment and logo contents are left out

The envelope (ids, actors) and the typed columns are derived again from the
redacted payload, so nothing survives beside it.

--fields chooses which (default: all five). Pseudonyms are keyed HMACs:
copies redacted with the same key give each person the same pseudonym, so
reviews can be joined across archives. The key comes from the file named by
--key-file, or from the FERRY_REDACT_KEY environment variable; without
either, a random key is used and pseudonyms match nothing else.

Counts, sizes, structure and history stay as they are: the copy inspects like
any other archive, and its manifest records what was redacted. It cannot be
imported. --identity reads an encrypted archive; --sign and --recipient sign
and encrypt the copy, as with export.`,
		Example: `  ferry redact site.ferry --out review.ferry
  FERRY_REDACT_KEY=... ferry redact site.ferry --out review.ferry --fields emails,names`,
		Args: exactArgs("ARCHIVE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usageError("redact needs --out REDACTED")
			}
			if err := checkFormat(format, "text", "json"); err != nil {
				return err
			}
			if err := redact.CheckFields(fields); err != nil {
				return usageError("--fields: %v", err)
			}
			key, err := redactKey(keyFile)
			if err != nil {
				return err
			}
			readOpts, err := keys.readOptions()
			if err != nil {
				return err
			}
			writerOpts, err := keys.writerOptions()
			if err != nil {
				return err
			}
			sum, err := redact.Run(cmd.Context(), args[0], out, redact.Options{Fields: fields, Key: key,
				Producer: archive.Producer{Name: "ferry", Version: version}, Read: readOpts, Archive: writerOpts})
			if err != nil {
				return err
			}
			if format == "json" {
				return json.NewEncoder(os.Stdout).Encode(sum)
			}
			printf("wrote %s: a copy of archive %s with %s redacted (key %s)\n", sum.Archive, sum.Source, strings.Join(sum.Fields, ", "), sum.KeyID)
			printf("  events %d, blobs %d copied, %d left out\n", sum.Events, sum.Blobs, sum.Dropped)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "the redacted archive to write")
	f.StringSliceVar(&fields, "fields", nil, "what to redact: emails, names, bodies, attachments (default all)")
	f.StringVar(&keyFile, "key-file", "", "file holding the pseudonym key (else FERRY_REDACT_KEY, else a random key)")
	f.StringVar(&format, "format", "text", "summary format: text or json")
	keys.addIdentity(f)
	keys.addSigning(f)
	return cmd
}

// redactKey reads the pseudonym key: never from a flag's value.
func redactKey(file string) ([]byte, error) {
	if file != "" {
		key, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--key-file: %w", err)
		}
		if key = bytes.TrimSpace(key); len(key) < 16 {
			return nil, fmt.Errorf("--key-file %s: a key of at least 16 bytes is needed", file)
		}
		return key, nil
	}
	if env := os.Getenv("FERRY_REDACT_KEY"); env != "" {
		if len(env) < 16 {
			return nil, fmt.Errorf("FERRY_REDACT_KEY: a key of at least 16 characters is needed")
		}
		return []byte(env), nil
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	stderrf("note: no --key-file or FERRY_REDACT_KEY: a random key is used, so pseudonyms will match no other redacted copy\n")
	return key, nil
}
