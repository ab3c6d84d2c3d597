// Package shared finds the project's shared folder (Confluence's API
// specs, real XML exports) for the tests that read it: $FERRY_SHARED, or
// the folder "shared" beside the checkout.
package shared

import (
	"os"
	"path/filepath"
	"runtime"
)

// Path returns the path of rel inside the shared folder; the caller skips
// its test, saying so, when nothing is there.
func Path(rel string) string {
	if dir := os.Getenv("FERRY_SHARED"); dir != "" {
		return filepath.Join(dir, rel)
	}
	_, file, _, _ := runtime.Caller(0) // .../internal/shared/shared.go in the checkout
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", rel)
}
