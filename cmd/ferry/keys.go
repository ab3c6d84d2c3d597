package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"ferry/archive"
	"ferry/cloud"
	"ferry/trust"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// keyFlags are the flags of commands that read archives which may be
// encrypted or must be signed.
type keyFlags struct {
	identity   string   // age identity file
	trust      []string // public key files
	sign       string   // signing key file
	recipients []string // age recipients
	credsFile  string   // Confluence Cloud credentials
	maxWait    time.Duration
}

func (k *keyFlags) addCredentials(f *pflag.FlagSet) {
	f.StringVar(&k.credsFile, "credentials", "", "file of FERRY_EMAIL=, FERRY_API_TOKEN= (or FERRY_TOKEN=) lines for Confluence Cloud; else the environment")
	f.DurationVar(&k.maxWait, "max-wait", cloud.DefaultMaxWait, "Confluence Cloud: the longest rate-limit wait (Retry-After) to sit through; past it, stop")
}

// connect makes a client for a Cloud site with the credentials and
// --max-wait, announcing its rate-limit waits on stderr.
func (k *keyFlags) connect(ctx context.Context, site string) (*cloud.Client, error) {
	creds, err := k.credentials()
	if err != nil {
		return nil, err
	}
	c, err := cloud.Connect(ctx, site, creds)
	if err != nil {
		return nil, err
	}
	if k.maxWait > 0 {
		c.MaxWait = k.maxWait
	}
	c.OnWait = func(d time.Duration, why string) {
		stderrf("waiting %s: %s\n", d.Round(time.Second), why)
	}
	return c, nil
}

// credentials reads Confluence Cloud credentials from --credentials, else
// the environment.
func (k *keyFlags) credentials() (cloud.Credentials, error) {
	if k.credsFile != "" {
		return cloud.CredentialsFromFile(k.credsFile)
	}
	return cloud.CredentialsFromEnv()
}

func (k *keyFlags) addSigning(f *pflag.FlagSet) {
	f.StringVar(&k.sign, "sign", "", "sign the archive with this private key file (ferry keygen)")
	f.StringArrayVar(&k.recipients, "recipient", nil, "encrypt the archive for this age public key (age1...) or file of them; repeatable")
}

// writerOptions turns --sign and --recipient into archive writer options.
func (k *keyFlags) writerOptions() ([]archive.Option, error) {
	var opts []archive.Option
	if k.sign != "" {
		key, signer, err := trust.LoadSigningKey(k.sign)
		if err != nil {
			return nil, fmt.Errorf("--sign: %w", err)
		}
		opts = append(opts, archive.WithSigner(key, signer))
	}
	if len(k.recipients) > 0 {
		rs, err := trust.ParseRecipients(k.recipients)
		if err != nil {
			return nil, fmt.Errorf("--recipient: %w", err)
		}
		opts = append(opts, archive.WithRecipients(rs...))
	}
	return opts, nil
}

func (k *keyFlags) addIdentity(f *pflag.FlagSet) {
	f.StringVar(&k.identity, "identity", "", "age identity file that decrypts an encrypted archive")
}

func (k *keyFlags) addTrust(f *pflag.FlagSet) {
	f.StringSliceVar(&k.trust, "trust", nil, "public key files (NAME.pub of ferry keygen): the archive must be signed by one of them")
}

// readOptions turns --identity into archive read options.
func (k *keyFlags) readOptions() ([]archive.ReadOption, error) {
	if k.identity == "" {
		return nil, nil
	}
	ids, err := trust.LoadIdentities(k.identity)
	if err != nil {
		return nil, fmt.Errorf("--identity: %w", err)
	}
	return []archive.ReadOption{archive.WithIdentities(ids...)}, nil
}

// trusted loads the --trust list; nil when none was given.
func (k *keyFlags) trusted() ([]ed25519.PublicKey, error) {
	if len(k.trust) == 0 {
		return nil, nil
	}
	keys, err := trust.LoadPublicKeys(k.trust)
	if err != nil {
		return nil, fmt.Errorf("--trust: %w", err)
	}
	return keys, nil
}

// openReadable opens an archive with random access and fails early, with
// a message saying for whom, when it is encrypted and --identity does not
// decrypt it.
func openReadable(path string, opts []archive.ReadOption) error {
	if h, err := readHeader(path); err == nil && !h.Encrypted() {
		return nil // nothing to decrypt; what reads it checks the rest
	}
	f, err := archive.OpenQuick(path, opts...)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.CheckIdentities()
}

// readHeader reads an archive's first member only.
func readHeader(path string) (archive.Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return archive.Header{}, err
	}
	defer f.Close()
	r, err := archive.NewReader(bufio.NewReaderSize(f, 16<<10))
	if err != nil {
		return archive.Header{}, err
	}
	return r.Header(), nil
}

func newKeygenCmd() *cobra.Command {
	var out, signer string
	var ageKey bool
	cmd := &cobra.Command{
		Use:   "keygen --out NAME [--signer WHO] [--age]",
		Short: "Make a key pair for signing archives (or, with --age, for encrypting them)",
		Long: `keygen writes a new key pair: the private key to NAME (mode 0600) and the
public key to NAME.pub. It never overwrites a file.

A signing key (ed25519, PEM) signs archives: 'ferry export --sign NAME'. Give
NAME.pub to whoever receives them: 'ferry verify --trust NAME.pub' and
'ferry import --trust NAME.pub' refuse archives it did not sign. --signer
names the key's owner in every signature (default: NAME's base name).

With --age, an age identity: NAME holds the secret identity and NAME.pub the
recipient (age1...) to give to producers: 'ferry export --recipient age1...'.
Decrypt with '--identity NAME'. age-keygen makes the same files.`,
		Example: `  ferry keygen --out acme-signing --signer "ACME Corp IT"
  ferry keygen --out reviewer --age`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usageError("keygen needs --out NAME")
			}
			if ageKey {
				rcpt, err := trust.GenerateAgeIdentity(out)
				if err != nil {
					return err
				}
				printf("wrote age identity %s (keep it secret) and recipient %s.pub:\n  %s\n", out, out, rcpt)
				return nil
			}
			if signer == "" {
				signer = filepath.Base(out)
			}
			pub, err := trust.GenerateSigningKey(out, signer)
			if err != nil {
				return err
			}
			printf("wrote signing key %s (keep it secret) and public key %s.pub\n  signer %s\n  key id %s\n", out, out, signer, archive.KeyID(pub))
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "where to write the private key; the public key goes to NAME.pub")
	cmd.Flags().StringVar(&signer, "signer", "", "the key owner's name, shown with every signature")
	cmd.Flags().BoolVar(&ageKey, "age", false, "make an age identity for encryption instead of a signing key")
	return cmd
}

// stderrf prints a note to stderr.
func stderrf(format string, args ...any) { fmt.Fprintf(os.Stderr, format, safeArgs(args)...) }
