package scope

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/scope/internal/pgtest"
)

const schema = `CREATE TABLE orders (id integer primary key, status text not null)`

func openSQLite(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(schema); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO orders (id, status) VALUES (1, 'new'), (2, 'new')`); err != nil {
		t.Fatal(err)
	}
	return db
}

func wrap(t *testing.T, db *sql.DB, role string, d Dialect) *DB {
	t.Helper()
	w, err := NewDB(db, DBConfig{Policy: supportPolicy(t), Role: role, Dialect: d})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestNewDBConfig(t *testing.T) {
	db := openSQLite(t)
	p := supportPolicy(t)
	for name, cfg := range map[string]DBConfig{
		"nil policy":   {Role: "reader", Dialect: DialectSQLite},
		"unknown role": {Policy: p, Role: "root", Dialect: DialectSQLite},
		"no dialect":   {Policy: p, Role: "reader"},
	} {
		if _, err := NewDB(db, cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewDB(nil, DBConfig{Policy: p, Role: "reader", Dialect: DialectSQLite}); !errors.Is(err, guard.ErrNilPolicy) {
		t.Errorf("nil db: %v", err)
	}
}

// runRoleTable runs every statement class as every role and checks that exactly
// the denials of the reference table happen (database errors for syntax one
// engine lacks are not denials).
func runRoleTable(t *testing.T, open func(t *testing.T) *sql.DB, d Dialect) {
	for role, allowed := range roleStatementTable {
		if role == "nobody" {
			continue
		}
		for _, sc := range statementClasses {
			t.Run(role+"/"+sc.class, func(t *testing.T) {
				w := wrap(t, open(t), role, d)
				_, err := w.ExecContext(context.Background(), sc.sql)
				denied := errors.Is(err, guard.ErrDenied)
				if denied == allowed[sc.class] {
					t.Fatalf("denied = %v, want %v: %v", denied, !allowed[sc.class], err)
				}
			})
		}
	}
}

func TestSQLiteRoleTable(t *testing.T) { runRoleTable(t, openSQLite, DialectSQLite) }

func TestSQLiteReader(t *testing.T) {
	db := openSQLite(t)
	db.SetMaxOpenConns(1) // every wrapper shares one connection: query_only must be restored
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	reader := wrap(t, db, "reader", DialectSQLite)
	operator := wrap(t, db, "operator", DialectSQLite)

	rows, err := reader.QueryContext(ctx, "SELECT id, status FROM orders ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var id int
		var s string
		if err := rows.Scan(&id, &s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "new,new" {
		t.Fatalf("rows = %v", got)
	}
	// The connection came back with query_only off: the operator can write.
	if _, err := operator.ExecContext(ctx, "UPDATE orders SET status = 'shipped' WHERE id = 1"); err != nil {
		t.Fatalf("operator after reader: %v", err)
	}
	// Reader writes are denied before the database.
	if _, err := reader.ExecContext(ctx, "UPDATE orders SET status = 'x'"); !errors.Is(err, guard.ErrDenied) {
		t.Fatalf("reader update: %v", err)
	}
	if _, err := reader.QueryContext(ctx, "DELETE FROM orders RETURNING id"); !errors.Is(err, guard.ErrDenied) {
		t.Fatalf("reader delete via query: %v", err)
	}
	// A failing query releases the connection too.
	if _, err := reader.QueryContext(ctx, "SELECT nosuchcolumn FROM orders"); err == nil || errors.Is(err, guard.ErrDenied) {
		t.Fatalf("bad column: %v", err)
	}
	if _, err := reader.ExecContext(ctx, "SELECT 1"); err != nil {
		t.Fatalf("reader exec select: %v", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, "PRAGMA query_only").Scan(&n); err != nil || n != 0 {
		t.Fatalf("query_only left at %d (%v)", n, err)
	}
}

// TestSQLiteReadOnlyEnforcedByDatabase bypasses the classifier to show that the
// reader's transaction itself refuses writes.
func TestSQLiteReadOnlyEnforcedByDatabase(t *testing.T) {
	db := openSQLite(t)
	db.SetMaxOpenConns(1)
	reader := wrap(t, db, "reader", DialectSQLite)
	ctx := context.Background()
	for _, stmt := range []string{
		"INSERT INTO orders (id, status) VALUES (3, 'x')",
		"DELETE FROM orders",
		"DROP TABLE orders",
		"CREATE TABLE x (a int)",
	} {
		q, release, err := reader.readOnly(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = q.ExecContext(ctx, stmt)
		release()
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), "readonly") {
			t.Errorf("%s in read-only transaction: %v", stmt, err)
		}
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM orders").Scan(&n); err != nil || n != 2 {
		t.Fatalf("rows = %d, %v", n, err)
	}
}

func TestPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	dsn := pgtest.Start(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	reset := func(t *testing.T) *sql.DB {
		t.Helper()
		for _, s := range []string{"DROP TABLE IF EXISTS orders", schema, "INSERT INTO orders (id, status) VALUES (1, 'new'), (2, 'new')",
			"DROP SEQUENCE IF EXISTS s", "CREATE SEQUENCE s"} {
			if _, err := db.ExecContext(ctx, s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
		return db
	}
	t.Run("role table", func(t *testing.T) { runRoleTable(t, reset, DialectPostgres) })
	t.Run("reader reads", func(t *testing.T) {
		reset(t)
		reader := wrap(t, db, "reader", DialectPostgres)
		rows, err := reader.QueryContext(ctx, "SELECT status FROM orders WHERE id = $1", 1)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		if !rows.Next() {
			t.Fatalf("no row: %v", rows.Err())
		}
	})
	t.Run("read only enforced by database", func(t *testing.T) {
		reset(t)
		reader := wrap(t, db, "reader", DialectPostgres)
		for _, stmt := range []string{
			"INSERT INTO orders (id, status) VALUES (3, 'x')",
			"DELETE FROM orders",
			"SELECT nextval('s')",
			"SELECT set_config('transaction_read_only', 'off', true)",
			"SET TRANSACTION READ WRITE",
			"WITH d AS (DELETE FROM orders RETURNING id) SELECT id FROM d",
		} {
			q, release, err := reader.readOnly(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, err = q.ExecContext(ctx, stmt)
			release()
			if err == nil {
				t.Errorf("%s ran in a read-only transaction", stmt)
			}
		}
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM orders").Scan(&n); err != nil || n != 2 {
			t.Fatalf("rows = %d, %v", n, err)
		}
	})
	t.Run("operator writes but does not destroy", func(t *testing.T) {
		reset(t)
		op := wrap(t, db, "operator", DialectPostgres)
		if _, err := op.ExecContext(ctx, "UPDATE orders SET status = $1 WHERE id = $2", "shipped", 1); err != nil {
			t.Fatal(err)
		}
		if _, err := op.ExecContext(ctx, "INSERT INTO orders (id, status) VALUES ($1, $2)", 3, "new"); err != nil {
			t.Fatal(err)
		}
		for _, stmt := range []string{"DELETE FROM orders", "TRUNCATE orders", "SELECT 1; DROP TABLE orders", "DROP TABLE orders"} {
			if _, err := op.ExecContext(ctx, stmt); !errors.Is(err, guard.ErrDenied) {
				t.Errorf("%s: %v", stmt, err)
			}
		}
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM orders").Scan(&n); err != nil || n != 3 {
			t.Fatalf("rows = %d, %v", n, err)
		}
	})
	t.Run("admin multi statement", func(t *testing.T) {
		reset(t)
		admin := wrap(t, db, "admin", DialectPostgres)
		if _, err := admin.ExecContext(ctx, "DELETE FROM orders WHERE id = 1; DROP TABLE orders"); err != nil {
			t.Fatal(err)
		}
	})
}

// sqlAttacks are what an injected agent would try against a non-admin role.
var sqlAttacks = []string{
	"DELETE FROM orders",
	"dElEtE FROM orders",
	"DELETE\tFROM\norders",
	"UPDATE orders SET status = 'x'; DELETE FROM orders",
	"SELECT 1; DROP TABLE orders",
	"SELECT 1;DROP TABLE orders;",
	"DROP TABLE orders -- ",
	"/**/DELETE FROM orders",
	"SELECT 1 /*; DROP TABLE orders */",
	"WITH d AS (DELETE FROM orders RETURNING id) SELECT id FROM d",
	"REPLACE INTO orders VALUES (1, 'x')",
	"INSERT OR REPLACE INTO orders VALUES (1, 'x')",
	"SELECT 1INTO x",
	"ATTACH DATABASE 'evil.db' AS evil",
	"PRAGMA writable_schema = 1",
	"PRAGMA query_only = 0",
	"VACUUM",
	"CREATE TRIGGER t AFTER INSERT ON orders BEGIN DELETE FROM orders; END",
	"ALTER TABLE orders RENAME TO o2",
	"SELECT load_extension('evil')",
	"SELECT writefile('x', 'y')",
	"SELECT * FROM orders WHERE id = 1 UNION SELECT 1, sqlite_version()",
	"ＤＥＬＥＴＥ FROM orders",
	"DELETE FROM orders\x00",
	"SELECT 'x' ; ; DELETE FROM orders",
}

func TestSQLiteAttacks(t *testing.T) {
	for _, role := range []string{"reader", "operator"} {
		t.Run(role, func(t *testing.T) {
			db := openSQLite(t)
			w := wrap(t, db, role, DialectSQLite)
			for _, q := range sqlAttacks {
				if _, err := w.ExecContext(context.Background(), q); !errors.Is(err, guard.ErrDenied) {
					t.Errorf("%q not denied: %v", q, err)
				}
			}
			var n int
			if err := db.QueryRow("SELECT count(*) FROM orders").Scan(&n); err != nil || n != 2 {
				t.Fatalf("orders damaged: %d rows, %v", n, err)
			}
		})
	}
}
