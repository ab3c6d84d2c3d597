package archive

import (
	"encoding/json"
	"time"
)

// Event is one entry of an archive's event log: a generic envelope around a
// JSON payload. Empty Parent, Space and Actor are stored as null.
type Event struct {
	Seq     int64           // strictly increasing across the archive
	Type    string          // "entity.verb", e.g. "page.version"
	Entity  string          // the entity kind, e.g. "page"
	ID      string          // the entity's id at the source
	Parent  string          // the owning entity's id, if any
	Space   string          // the space the entity lives in, if any
	At      time.Time       // when it happened at the source (stored in microseconds, UTC)
	Actor   string          // who caused it, if known
	Payload json.RawMessage // a JSON text; nil is stored as {}

	// Extra holds the values of the writer's producer columns
	// (WithColumns), in their order: nil (null), a string or an int64.
	// Readers do not fill it in.
	Extra []any
}

// A Column is a typed column a producer adds to segments beside the
// envelope (spec §3.2), holding a field it derives from each event's
// payload, so that queries need not parse JSON.
type Column struct {
	Name string     `json:"name"`
	Type ColumnType `json:"type"`
}

// ColumnType is the type of a producer column.
type ColumnType string

// The types a producer column may have.
const (
	StringColumn ColumnType = "string"
	Int64Column  ColumnType = "int64"
)

// Column names of the envelope, in the order segments store them.
const (
	colSeq = iota
	colType
	colEntity
	colID
	colParent
	colSpace
	colAt
	colActor
	colPayload
	numColumns
)

var columnNames = [numColumns]string{"seq", "type", "entity", "id", "parent", "space", "at", "actor", "payload"}
