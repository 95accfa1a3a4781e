package scope

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"

	"github.com/agentguard/agentguard/guard"
)

// Dialect names the database behind a [DB], which decides how read-only
// transactions are enforced.
type Dialect uint8

// The supported dialects. The zero value is invalid.
const (
	DialectUnknown Dialect = iota
	// DialectSQLite: reads run with PRAGMA query_only = ON on a dedicated
	// connection, inside a transaction that is rolled back.
	DialectSQLite
	// DialectPostgres: reads run in a BEGIN READ ONLY transaction that is rolled
	// back (sql.TxOptions{ReadOnly: true}, honoured by pgx and lib/pq).
	DialectPostgres
)

func (d Dialect) String() string {
	switch d {
	case DialectSQLite:
		return "sqlite"
	case DialectPostgres:
		return "postgres"
	}
	return "unknown"
}

// DBConfig configures a [DB].
type DBConfig struct {
	// Policy supplies the role's database access. Required.
	Policy *Policy
	// Role is the role whose access bounds every statement. Required and declared.
	Role string
	// Dialect is the database's dialect. Required.
	Dialect Dialect
}

// DB runs an agent's SQL on a *sql.DB within one role's database access:
//
//   - read-only: the statement must classify as [ClassRead] (one statement) and
//     runs in a transaction the database itself keeps read-only;
//   - read-write: one statement of class read, insert or update;
//   - full: anything;
//   - none: nothing.
//
// A refused statement returns a [*guard.DenialError] (matching [guard.ErrDenied])
// without reaching the database. DB is safe for concurrent use.
type DB struct {
	db      *sql.DB
	role    string
	access  Access
	dialect Dialect
}

// NewDB wraps db for cfg.Role.
func NewDB(db *sql.DB, cfg DBConfig) (*DB, error) {
	if db == nil || cfg.Policy == nil {
		return nil, fmt.Errorf("scope: db: %w", guard.ErrNilPolicy)
	}
	r, ok := cfg.Policy.roles[cfg.Role]
	if !ok {
		return nil, fmt.Errorf("scope: db: role %q is not declared", cfg.Role)
	}
	if cfg.Dialect != DialectSQLite && cfg.Dialect != DialectPostgres {
		return nil, errors.New("scope: db: Dialect must be DialectSQLite or DialectPostgres")
	}
	return &DB{db: db, role: cfg.Role, access: r.access, dialect: cfg.Dialect}, nil
}

// Role returns the role the DB enforces.
func (d *DB) Role() string { return d.role }

// Check reports whether the role may run query, without running it.
func (d *DB) Check(query string) error { return checkSQL(d.role, d.access, query) }

// CheckSQL reports whether role may run query under the policy.
func (p *Policy) CheckSQL(roleName, query string) error {
	r, ok := p.roles[roleName]
	if !ok {
		return sqlDeny("role.unknown", fmt.Sprintf("role %q is not declared", roleName), nil)
	}
	return checkSQL(roleName, r.access, query)
}

func sqlDeny(rule, reason string, err error) *guard.DenialError {
	return &guard.DenialError{Stage: guard.StageScope, Tool: "sql", Rule: rule, Reason: reason, Err: err}
}

func checkSQL(roleName string, access Access, query string) error {
	switch access {
	case AccessFull:
		return nil
	case AccessReadOnly, AccessReadWrite:
	default:
		return sqlDeny("sql.access", fmt.Sprintf("role %q has no database access", roleName), nil)
	}
	cl, err := Classify(query)
	if err != nil {
		return sqlDeny("sql.unclassified", fmt.Sprintf("statement refused for role %q: %v", roleName, err), err)
	}
	if cl.Statements > 1 {
		return sqlDeny("sql.multi", fmt.Sprintf("role %q may not run multiple statements in one string", roleName), nil)
	}
	ok := cl.Class == ClassRead || access == AccessReadWrite && (cl.Class == ClassInsert || cl.Class == ClassUpdate)
	if !ok {
		return sqlDeny("sql.class", fmt.Sprintf("role %q (%s) may not run %s statements", roleName, access, cl.Class), nil)
	}
	return nil
}

// Rows is *sql.Rows whose Close also ends the read-only transaction a reader's
// query runs in. Always Close it.
type Rows struct {
	*sql.Rows
	once    sync.Once
	release func()
}

// Close closes the rows and releases the transaction and connection behind them.
func (r *Rows) Close() error {
	err := r.Rows.Close()
	r.once.Do(func() {
		if r.release != nil {
			r.release()
		}
	})
	return err
}

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// ExecContext checks query against the role and runs it.
func (d *DB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := d.Check(query); err != nil {
		return nil, err
	}
	if d.access != AccessReadOnly {
		return d.db.ExecContext(ctx, query, args...)
	}
	q, release, err := d.readOnly(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	return q.ExecContext(ctx, query, args...)
}

// QueryContext checks query against the role and runs it. The caller must Close
// the returned rows.
func (d *DB) QueryContext(ctx context.Context, query string, args ...any) (*Rows, error) {
	if err := d.Check(query); err != nil {
		return nil, err
	}
	if d.access != AccessReadOnly {
		rows, err := d.db.QueryContext(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		return &Rows{Rows: rows}, nil
	}
	q, release, err := d.readOnly(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		release()
		return nil, err
	}
	return &Rows{Rows: rows, release: release}, nil
}

// readOnly opens a transaction the database keeps read-only. release rolls it
// back and returns the connection (SQLite: with query_only restored, or
// discarded when that fails).
func (d *DB) readOnly(ctx context.Context) (querier, func(), error) {
	switch d.dialect {
	case DialectPostgres:
		tx, err := d.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return nil, nil, fmt.Errorf("scope: db: begin read-only: %w", err)
		}
		// Confirm the mode, and run a query before the agent's: PostgreSQL lets
		// the first statement of a transaction (SET TRANSACTION READ WRITE)
		// switch it to read-write, but not a later one.
		var mode string
		if err := tx.QueryRowContext(ctx, "SELECT current_setting('transaction_read_only')").Scan(&mode); err != nil || mode != "on" {
			_ = tx.Rollback()
			if err == nil {
				err = fmt.Errorf("transaction_read_only is %q", mode)
			}
			return nil, nil, fmt.Errorf("scope: db: read-only transaction not in force (fail closed): %w", err)
		}
		return tx, func() { _ = tx.Rollback() }, nil
	case DialectSQLite:
		conn, err := d.db.Conn(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("scope: db: %w", err)
		}
		discard := func() {
			// Returning ErrBadConn makes database/sql close the connection
			// instead of pooling it with an unknown query_only state.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			_ = conn.Close()
		}
		var prev int
		if err := conn.QueryRowContext(ctx, "PRAGMA query_only").Scan(&prev); err != nil {
			discard()
			return nil, nil, fmt.Errorf("scope: db: reading query_only: %w", err)
		}
		if _, err := conn.ExecContext(ctx, "PRAGMA query_only = 1"); err != nil {
			discard()
			return nil, nil, fmt.Errorf("scope: db: setting query_only: %w", err)
		}
		tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			discard()
			return nil, nil, fmt.Errorf("scope: db: begin read-only: %w", err)
		}
		return tx, func() {
			_ = tx.Rollback()
			restore := "PRAGMA query_only = 0"
			if prev != 0 {
				restore = "PRAGMA query_only = 1"
			}
			if _, err := conn.ExecContext(context.Background(), restore); err != nil {
				discard()
				return
			}
			_ = conn.Close()
		}, nil
	}
	return nil, nil, errors.New("scope: db: unknown dialect")
}
