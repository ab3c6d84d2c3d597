package inspect

import "strings"

// Statements splits a reviewer's SQL into its statements, at the
// semicolons that end them, so that each one's result can be shown: handed
// several statements at once, DuckDB runs them all but answers only for
// the last. A semicolon inside a string ('...', E'...', $tag$...$tag$), a
// quoted name ("...") or a comment (-- to the end of the line, /* ... */,
// which nest) ends nothing: these are DuckDB's lexical rules, those of the
// PostgreSQL parser it uses. Pieces with nothing but blanks and comments
// are dropped. What is left unclosed runs to the end and is one statement,
// for DuckDB to report.
func Statements(sql string) []string {
	var out []string
	start := 0
	code := false // the piece holds more than blanks and comments
	end := func(i int) {
		if stmt := strings.TrimSpace(sql[start:i]); code && stmt != "" {
			out = append(out, stmt)
		}
		start, code = i+1, false
	}
	for i := 0; i < len(sql); i++ {
		c := sql[i]
		switch {
		case c == ';':
			end(i)
		case c == '-' && strings.HasPrefix(sql[i:], "--"):
			if n := strings.IndexByte(sql[i:], '\n'); n >= 0 {
				i += n
			} else {
				i = len(sql)
			}
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			i = blockCommentEnd(sql, i)
		case c == '\'' || c == '"':
			code = true
			i = quotedEnd(sql, i, c, escapes(sql, i))
		case c == '$':
			code = true
			if i > 0 && isWordByte(sql[i-1]) {
				break // part of a name, such as a$b
			}
			if tag, ok := dollarTag(sql[i:]); ok {
				if n := strings.Index(sql[i+len(tag):], tag); n >= 0 {
					i += len(tag) + n + len(tag) - 1
				} else {
					i = len(sql)
				}
			}
		case c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f':
			code = true
		}
	}
	end(len(sql))
	return out
}

// escapes reports whether the string opening at i is an E'...' string,
// in which a backslash escapes the next character.
func escapes(sql string, i int) bool {
	if sql[i] != '\'' || i == 0 || sql[i-1]|0x20 != 'e' {
		return false
	}
	return i == 1 || !isWordByte(sql[i-2])
}

// quotedEnd returns the index of the quote that closes the string or name
// opening at i; a doubled quote stands for itself.
func quotedEnd(sql string, i int, quote byte, backslash bool) int {
	for j := i + 1; j < len(sql); j++ {
		switch {
		case backslash && sql[j] == '\\':
			j++
		case sql[j] == quote:
			if j+1 < len(sql) && sql[j+1] == quote {
				j++
				continue
			}
			return j
		}
	}
	return len(sql)
}

// blockCommentEnd returns the index of the / that closes the comment
// opening at i, counting the comments nested in it.
func blockCommentEnd(sql string, i int) int {
	depth := 0
	for j := i; j+1 < len(sql); j++ {
		switch sql[j : j+2] {
		case "/*":
			depth++
			j++
		case "*/":
			depth--
			j++
			if depth == 0 {
				return j
			}
		}
	}
	return len(sql)
}

// dollarTag returns the $tag$ that opens a dollar-quoted string at the
// start of s ($$ or $name$), if one does: $1 and the like are parameters.
func dollarTag(s string) (string, bool) {
	for j := 1; j < len(s); j++ {
		switch {
		case s[j] == '$':
			return s[:j+1], true
		case !isWordByte(s[j]) || j == 1 && s[j] >= '0' && s[j] <= '9':
			return "", false
		}
	}
	return "", false
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z' || c >= 0x80
}
