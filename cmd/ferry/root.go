package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// globals are the flags every command has.
type globals struct {
	logLevel string
	progress string
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "ferry",
		Short: "Copy a Confluence site between instances in separate, auditable steps",
		Long: `ferry copies a Confluence site's users, groups, spaces, pages, blog posts,
comments, attachments, labels, restrictions and permissions from one
instance or organization to another:

  export   reads a source site and writes one versioned archive file
  inspect  runs SQL over an archive offline: what will and won't be copied
  import   replays an archive into a destination, idempotently

An archive is a plain tar file (spec/ARCHIVE.md); 'ferry verify' checks
every byte of it.`,
		Example: `  ferry verify site.ferry
  ferry verify site.ferry --format json`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version, // --version, as Go tools and cobra programs answer it
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return g.setup()
		},
	}
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "warn", "log level: debug, info, warn or error (logs go to stderr)")
	root.PersistentFlags().StringVar(&g.progress, "progress", "auto", "progress bars on stderr: auto (when stderr is a terminal), always or never")
	root.SetVersionTemplate(versionLine())
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError("%v (see '%s --help')", err, cmd.CommandPath())
	})
	root.AddCommand(newVersionCmd(), newVerifyCmd(g), newGenerateCmd(g), newExportCmd(g), newImportCmd(g), newCompareCmd(), newDemoCmd(), newInspectCmd(), newKeygenCmd(), newRedactCmd(), newSandboxCmd())
	return root
}

func (g *globals) setup() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		return usageError("--log-level %q: want debug, info, warn or error", g.logLevel)
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	switch g.progress {
	case "auto", "always", "never":
	default:
		return usageError("--progress %q: want auto, always or never", g.progress)
	}
	return nil
}

// exactArgs is cobra.ExactArgs with a usage error that names the arguments.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(names) == 0 && len(args) > 0 {
			return usageError("%s takes no arguments; got %q: its inputs are flags, as in %s (see '%s --help')",
				cmd.Name(), args, cmd.UseLine(), cmd.CommandPath())
		}
		if len(args) != len(names) {
			return usageError("%s takes %d argument(s), %s; got %d (see '%s --help')",
				cmd.Name(), len(names), strings.Join(names, " "), len(args), cmd.CommandPath())
		}
		return nil
	}
}

// checkFormat validates a --format value against the allowed ones.
func checkFormat(value string, allowed ...string) error {
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	return usageError("--format %q: want %s", value, strings.Join(allowed, " or "))
}

// printf prints results; string values are shown safely (safeText).
func printf(format string, args ...any) { fmt.Fprintf(os.Stdout, format, safeArgs(args)...) }
