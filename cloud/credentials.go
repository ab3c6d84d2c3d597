package cloud

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// Credentials authenticate requests: an account email with an API token
// (HTTP basic), or an OAuth bearer token. They are never printed.
type Credentials struct {
	Email, APIToken string
	Bearer          string
}

// String hides the secret, so a credential in a log or error shows nothing.
func (c Credentials) String() string {
	switch {
	case c.Bearer != "":
		return "bearer token"
	case c.APIToken != "":
		return "API token of " + c.Email
	}
	return "no credentials"
}

// CredentialsFromEnv reads FERRY_EMAIL and FERRY_API_TOKEN, or FERRY_TOKEN.
func CredentialsFromEnv() (Credentials, error) {
	c := Credentials{Email: os.Getenv("FERRY_EMAIL"), APIToken: os.Getenv("FERRY_API_TOKEN"), Bearer: os.Getenv("FERRY_TOKEN")}
	return c, c.check("the environment (FERRY_EMAIL and FERRY_API_TOKEN, or FERRY_TOKEN)")
}

// CredentialsFromFile reads KEY=VALUE lines with the same names as the
// environment variables (FERRY_EMAIL, FERRY_API_TOKEN, FERRY_TOKEN).
func CredentialsFromFile(path string) (Credentials, error) {
	f, err := os.Open(path)
	if err != nil {
		return Credentials{}, fmt.Errorf("credentials: %w", err)
	}
	defer f.Close()
	var c Credentials
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return Credentials{}, fmt.Errorf("credentials %s line %d: want KEY=VALUE", path, n)
		}
		switch v = strings.Trim(strings.TrimSpace(v), `"'`); strings.TrimSpace(k) {
		case "FERRY_EMAIL":
			c.Email = v
		case "FERRY_API_TOKEN":
			c.APIToken = v
		case "FERRY_TOKEN":
			c.Bearer = v
		default:
			return Credentials{}, fmt.Errorf("credentials %s line %d: unknown key %q (want FERRY_EMAIL, FERRY_API_TOKEN or FERRY_TOKEN)", path, n, k)
		}
	}
	return c, c.check(path)
}

func (c Credentials) check(where string) error {
	switch {
	case c.Bearer != "":
		return nil
	case c.Email != "" && c.APIToken != "":
		return nil
	case c.Email != "" || c.APIToken != "":
		return fmt.Errorf("credentials from %s: give both an email and an API token", where)
	}
	return fmt.Errorf("no credentials in %s", where)
}
