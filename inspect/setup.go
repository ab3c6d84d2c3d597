package inspect

import (
	"context"
	"database/sql/driver"
	"fmt"

	"github.com/duckdb/duckdb-go/v2"
)

// IsSetup reports whether stmt, as DuckDB classifies it once parsed and
// bound, prepares the session rather than asks a question: CREATE TEMP
// VIEW or TABLE, CREATE MACRO, SET VARIABLE, an INSERT into a temporary
// table. A reviewer's script uses them to name what its queries share;
// their only answer is DuckDB's count of rows touched, which tells a
// reviewer nothing. Each statement must be classified after the ones
// before it have run: a query may read a view they created.
func (in *Inspector) IsSetup(ctx context.Context, stmt string) (bool, error) {
	db, err := in.database(ctx)
	if err != nil {
		return false, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	var kind duckdb.StmtType
	err = conn.Raw(func(c any) error {
		prep, ok := c.(driver.ConnPrepareContext)
		if !ok {
			return fmt.Errorf("inspect: the DuckDB driver's connection (%T) cannot prepare", c)
		}
		s, err := prep.PrepareContext(ctx, stmt)
		if err != nil {
			return err
		}
		defer s.Close()
		ds, ok := s.(*duckdb.Stmt)
		if !ok {
			return fmt.Errorf("inspect: the DuckDB driver's statement (%T) has no type", s)
		}
		kind, err = ds.StatementType()
		return err
	})
	if err != nil {
		return false, sqlError(err, stmt)
	}
	switch kind {
	case duckdb.STATEMENT_TYPE_CREATE, duckdb.STATEMENT_TYPE_CREATE_FUNC, duckdb.STATEMENT_TYPE_DROP,
		duckdb.STATEMENT_TYPE_ALTER, duckdb.STATEMENT_TYPE_INSERT, duckdb.STATEMENT_TYPE_UPDATE,
		duckdb.STATEMENT_TYPE_DELETE, duckdb.STATEMENT_TYPE_SET, duckdb.STATEMENT_TYPE_VARIABLE_SET,
		duckdb.STATEMENT_TYPE_PREPARE, duckdb.STATEMENT_TYPE_TRANSACTION:
		return true, nil
	}
	return false, nil
}

// Exec runs a setup statement (IsSetup).
func (in *Inspector) Exec(ctx context.Context, stmt string) error {
	db, err := in.database(ctx)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, stmt); err != nil {
		return sqlError(err, stmt)
	}
	return nil
}
