package sandbox

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every test sandbox/CLOUD.md names exists: the table of rules says which
// test holds each, and a renamed or removed test would leave a rule
// unheld without anyone noticing.
func TestCloudRulesNameRealTests(t *testing.T) {
	doc, err := os.ReadFile("CLOUD.md")
	if err != nil {
		t.Fatal(err)
	}
	defined := map[string]bool{}
	files, _ := filepath.Glob("../*/*_test.go")
	more, _ := filepath.Glob("../cmd/*/*_test.go")
	for _, f := range append(files, more...) {
		src, _ := os.ReadFile(f)
		for _, m := range regexp.MustCompile(`(?m)^func (Test\w+)\(`).FindAllSubmatch(src, -1) {
			defined[string(m[1])] = true
		}
	}
	named := regexp.MustCompile("`(Test\\w+)`").FindAllStringSubmatch(string(doc), -1)
	if len(named) < 13 {
		t.Fatalf("CLOUD.md names %d tests", len(named))
	}
	var missing []string
	for _, m := range named {
		if !defined[m[1]] {
			missing = append(missing, m[1])
		}
	}
	if len(missing) > 0 {
		t.Errorf("CLOUD.md names tests that do not exist: %s", strings.Join(missing, ", "))
	}
}
