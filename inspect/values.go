package inspect

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/duckdb/duckdb-go/v2"
)

// Value turns what DuckDB's Go driver scans for a column of type dbType
// (as sql.ColumnType.DatabaseTypeName names it) into plain data that reads
// as DuckDB writes the value: a DATE is a day, not midnight in UTC; a
// DECIMAL, HUGEINT or UBIGINT is a number (json.Number, exact), not the
// driver's struct; an INTERVAL is text such as "1 month 2 days 03:00:00";
// a UUID is its text form, not 16 raw bytes; a BLOB is text with its bytes
// other than printable ASCII escaped as DuckDB does (\xFF). Lists, structs
// and maps keep their shape, their elements made plain the same way. A NaN
// or infinity is text (NaN, +Inf), which JSON can carry.
func Value(v any, dbType string) any {
	switch x := v.(type) {
	case []byte:
		switch {
		case dbType == "UUID" && len(x) == 16:
			return uuidText(x)
		case dbType != "BLOB" && utf8.Valid(x):
			return string(x)
		}
		return blobText(x)
	case time.Time:
		switch dbType {
		case "DATE":
			return x.Format(time.DateOnly)
		case "TIME":
			return x.Format("15:04:05.999999")
		case "TIMETZ":
			return x.Format("15:04:05.999999Z07:00")
		}
		return x.UTC().Format(time.RFC3339Nano)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Sprint(x)
		}
	case float32:
		if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Sprint(f)
		}
	case duckdb.Decimal:
		return json.Number(x.String())
	case *big.Int:
		return json.Number(x.String())
	case uint64:
		return json.Number(strconv.FormatUint(x, 10))
	case duckdb.Interval:
		return intervalText(x)
	case duckdb.UUID:
		return uuidText(x[:])
	case duckdb.Union:
		return Value(x.Value, "")
	case []any:
		elem := elementType(dbType)
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Value(e, elem)
		}
		return out
	case map[string]any:
		fields := innerTypes(dbType, "STRUCT(")
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = Value(e, fields[k])
		}
		return out
	case duckdb.OrderedMap:
		kv := innerTypes(dbType, "MAP(")
		out := make(map[string]any, x.Len())
		values := x.Values() // a copy, each call
		for i, k := range x.Keys() {
			out[Text(Value(k, kv["0"]))] = Value(values[i], kv["1"])
		}
		return out
	}
	return v
}

// Text is a plain value (see Value) as one cell of a table or CSV file:
// lists, structs and maps as JSON, numbers as JSON writes them.
func Text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return string(x)
	case float32, float64, []any, map[string]any:
		if b, err := json.Marshal(x); err == nil {
			return string(b)
		}
	}
	return fmt.Sprint(v)
}

func uuidText(b []byte) string {
	h := fmt.Sprintf("%x", b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// blobText escapes the bytes that are not printable ASCII as DuckDB does.
func blobText(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		if c >= 0x20 && c < 0x7f && c != '\\' {
			s.WriteByte(c)
		} else {
			fmt.Fprintf(&s, "\\x%02X", c)
		}
	}
	return s.String()
}

// intervalText writes an interval as DuckDB does: years, months and days
// by name, then the time of day, each part only when it is not zero.
func intervalText(iv duckdb.Interval) string {
	var parts []string
	unit := func(n int64, name string) {
		if n == 0 {
			return
		}
		if n != 1 && n != -1 {
			name += "s"
		}
		parts = append(parts, fmt.Sprintf("%d %s", n, name))
	}
	unit(int64(iv.Months/12), "year")
	unit(int64(iv.Months%12), "month")
	unit(int64(iv.Days), "day")
	if us := iv.Micros; us != 0 || len(parts) == 0 {
		sign := ""
		if us < 0 {
			sign, us = "-", -us
		}
		t := fmt.Sprintf("%s%02d:%02d:%02d", sign, us/3_600_000_000, us/60_000_000%60, us/1_000_000%60)
		if frac := us % 1_000_000; frac != 0 {
			t += strings.TrimRight(fmt.Sprintf(".%06d", frac), "0")
		}
		parts = append(parts, t)
	}
	return strings.Join(parts, " ")
}

// elementType is the type of a list's or array's elements: DATE of
// DATE[] or DATE[3].
func elementType(t string) string {
	if strings.HasSuffix(t, "]") {
		if i := strings.LastIndexByte(t, '['); i > 0 {
			return t[:i]
		}
	}
	return ""
}

// innerTypes reads the types inside STRUCT(name TYPE, ...), by field name,
// or MAP(KEY, VALUE), as "0" and "1".
func innerTypes(t, prefix string) map[string]string {
	if !strings.HasPrefix(t, prefix) || !strings.HasSuffix(t, ")") {
		return nil
	}
	inner := t[len(prefix) : len(t)-1]
	out := map[string]string{}
	depth, quoted, start, n := 0, false, 0, 0
	add := func(part string) {
		part = strings.TrimSpace(part)
		if prefix == "MAP(" {
			out[strconv.Itoa(n)] = part
		} else if name, typ, ok := cutName(part); ok {
			out[name] = typ
		}
		n++
	}
	for i := 0; i < len(inner); i++ {
		switch c := inner[i]; {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			add(inner[start:i])
			start = i + 1
		}
	}
	add(inner[start:])
	return out
}

// cutName splits a STRUCT field, name then type; a quoted name may hold
// blanks, its quotes doubled inside.
func cutName(field string) (name, typ string, ok bool) {
	if strings.HasPrefix(field, `"`) {
		for i := 1; i < len(field); i++ {
			if field[i] == '"' {
				if i+1 < len(field) && field[i+1] == '"' {
					i++
					continue
				}
				return strings.ReplaceAll(field[1:i], `""`, `"`), strings.TrimSpace(field[i+1:]), true
			}
		}
		return "", "", false
	}
	name, typ, ok = strings.Cut(field, " ")
	return name, strings.TrimSpace(typ), ok
}
