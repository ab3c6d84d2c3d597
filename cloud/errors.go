package cloud

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"
)

// APIError is an answer other than success, with what the user can do.
type APIError struct {
	Method, Path string
	Status       int
	Code         string // v2 errors' code, e.g. NOT_FOUND
	Message      string
	Hint         string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Code != "" {
		b.WriteString(" (" + e.Code + ")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Hint != "" {
		b.WriteString("; " + e.Hint)
	}
	return b.String()
}

// parseError reads an error answer leniently: the v2 shape
// {"errors":[{"status","code","title","detail"}]}, the v1 shape
// {"statusCode","message"}, or any text. The spec declares error bodies
// empty, so nothing here may be relied on.
func parseError(resp *http.Response) *APIError {
	e := &APIError{Method: resp.Request.Method, Path: resp.Request.URL.Path, Status: resp.StatusCode}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var v2 struct {
		Errors []struct {
			Code   string  `json:"code"`
			Title  string  `json:"title"`
			Detail *string `json:"detail"`
		} `json:"errors"`
	}
	var v1 struct {
		Message string `json:"message"`
	}
	switch {
	case json.Unmarshal(data, &v2) == nil && len(v2.Errors) > 0:
		e.Code, e.Message = v2.Errors[0].Code, v2.Errors[0].Title
		if d := v2.Errors[0].Detail; d != nil && *d != "" {
			e.Message += ": " + *d
		}
	case json.Unmarshal(data, &v1) == nil && v1.Message != "":
		e.Message = v1.Message
	default:
		e.Message = strings.TrimSpace(string(data))
	}
	e.Message = truncate(e.Message, 300)
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		e.Hint = "the credentials were refused: the API token may have expired (they last 1 to 365 days) or the email may be wrong"
	case http.StatusForbidden:
		e.Hint = "the account lacks a permission this needs (ferry needs a site and organization admin)"
	case http.StatusNotFound:
		e.Hint = "it does not exist, or the account may not see it (Confluence answers 404 for both)"
	case http.StatusBadRequest:
		if strings.Contains(strings.ToLower(e.Message), "cursor") {
			e.Hint = "a stale pagination cursor: run again"
		}
	}
	return e
}

// truncate shortens a server's text for a message: its first n bytes (on
// a rune boundary), then how long it was.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", s[:cut], len(s))
}
