package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"ferry/archive"

	"github.com/spf13/cobra"
)

type verifyOptions struct {
	format string
	keys   keyFlags
}

func newVerifyCmd(g *globals) *cobra.Command {
	o := &verifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify ARCHIVE",
		Short: "Re-read every byte of an archive and check every checksum",
		Long: `verify reads the whole archive: the tar framing, every member's SHA-256,
every blob's content hash, every event segment row by row, and the manifest
with its own checksum. It names every damaged member it can reach.

ARCHIVE may be - to read from standard input.

A signed archive's signature is checked against its manifest, and the signer
named. --trust KEY.pub,... also requires that one of those keys signed it.
An encrypted archive is decrypted and checked whole with --identity FILE;
without it, verify checks the encrypted bytes and says for whom it is
encrypted.

Exit status: 0 when the archive is intact, 1 when it is damaged or cannot
be read, 2 on a usage error.`,
		Example: `  ferry verify site.ferry
  ferry verify site.ferry --trust acme-signing.pub
  ferry verify site.ferry --identity reviewer --format json
  cat site.ferry | ferry verify -`,
		Args: exactArgs("ARCHIVE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(o.format, "text", "json"); err != nil {
				return err
			}
			collectAtLimit(archive.VerifySoftMemoryLimit)
			return runVerify(g, o, args[0])
		},
	}
	cmd.Flags().StringVar(&o.format, "format", "text", "output format: text or json")
	o.keys.addTrust(cmd.Flags())
	o.keys.addIdentity(cmd.Flags())
	return cmd
}

func runVerify(g *globals, o *verifyOptions, path string) error {
	readOpts, err := o.keys.readOptions()
	if err != nil {
		return err
	}
	trusted, err := o.keys.trusted()
	if err != nil {
		return err
	}
	var (
		in   io.Reader = os.Stdin
		size int64     = -1
	)
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("open archive: %w", err)
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil {
			if st.IsDir() {
				return fmt.Errorf("open archive: %s is a directory, not an archive file", path)
			}
			size = st.Size()
			if st.Mode().IsRegular() {
				readOpts = append(readOpts, archive.ReadAhead(f, size))
			}
		}
		in = f
	}
	in, done := g.progressReader(in, size, "verifying")
	rep := archive.Verify(in, readOpts...)
	done()
	trust := ""
	if trusted != nil && rep.Intact {
		switch {
		case rep.Signature == nil:
			trust = "the archive is not signed, and --trust asks for a signature"
		case rep.Signature.Trusted(trusted) != nil:
			trust = rep.Signature.Trusted(trusted).Error()
		}
	}
	if o.format == "json" {
		out := struct {
			Archive   string `json:"archive"`
			Trusted   *bool  `json:"trusted,omitempty"`
			Untrusted string `json:"untrusted,omitempty"`
			*archive.Report
		}{Archive: path, Report: rep, Untrusted: trust}
		if trusted != nil && rep.Intact {
			ok := trust == ""
			out.Trusted = &ok
		}
		if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
			return err
		}
	} else {
		printVerifyText(path, rep, trusted != nil, trust)
	}
	if !rep.Intact || trust != "" {
		return silentFailure
	}
	return nil
}

func printVerifyText(path string, rep *archive.Report, checkTrust bool, untrusted string) {
	if !rep.Intact && len(rep.Problems) == 1 && errors.Is(rep.Problems[0].Err(), archive.ErrNotArchive) {
		printf("%s: NOT AN ARCHIVE\n  %s\n%s\n", path, rep.Problems[0].Error, notArchiveHint)
		return
	}
	if !rep.Intact {
		printf("%s: DAMAGED (%d problem(s))\n", path, len(rep.Problems))
		for _, p := range rep.Problems {
			printf("  %s\n", p.Error)
		}
		printf("Do not import this archive; ask its producer for a new copy.\n")
		return
	}
	printf("%s: intact\n", path)
	printf("  archive   %s (format %s)\n", rep.ArchiveID, rep.Version)
	if rep.ParentID != "" {
		printf("  parent    %s\n", rep.ParentID)
	}
	printf("  members   %d (%d event segment(s), %d blob(s))\n", rep.Members, rep.Segments, rep.Blobs)
	printf("  events    %d\n", rep.Events)
	printf("  bytes     %d\n", rep.Bytes)
	switch {
	case rep.Signature == nil && checkTrust:
		printf("  signature NONE: %s\n", untrusted)
	case rep.Signature == nil:
		printf("  signature none\n")
	case untrusted != "":
		printf("  signature NOT TRUSTED: %s\n", untrusted)
	case checkTrust:
		printf("  signature by %s (%s), a trusted key\n", rep.Signature.Signer, rep.Signature.KeyID)
	default:
		printf("  signature by %s (%s), matches the manifest (give --trust KEY.pub to check the key)\n", rep.Signature.Signer, rep.Signature.KeyID)
	}
	if rep.Encrypted {
		if rep.Sealed {
			printf("  encrypted for %s: the encrypted bytes are intact; give --identity to decrypt and check the contents\n", strings.Join(rep.Recipients, ", "))
		} else {
			printf("  encrypted for %s: decrypted and checked\n", strings.Join(rep.Recipients, ", "))
		}
	}
	if untrusted != "" {
		printf("Do not import this archive unless you trust its signer.\n")
	}
}
