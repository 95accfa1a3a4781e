package scope

import (
	"errors"
	"testing"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		name, sql string
		class     Class
		stmts     int
		err       bool
	}{
		{"select", "SELECT id, name FROM customers WHERE id = $1", ClassRead, 1, false},
		{"select lower case", "select * from t where x = ?", ClassRead, 1, false},
		{"select trailing semicolon", "SELECT 1;  ", ClassRead, 1, false},
		{"select with safe functions", "SELECT count(*), lower(name), coalesce(a, 'x') FROM t GROUP BY 2", ClassRead, 1, false},
		{"select string with keywords", "SELECT 'DELETE FROM t; DROP TABLE x' FROM t", ClassRead, 1, false},
		{"select quoted identifier keyword", `SELECT "delete", "drop" FROM t`, ClassRead, 1, false},
		{"select doubled quote", "SELECT 'it''s' FROM t", ClassRead, 1, false},
		{"values", "VALUES (1, 2)", ClassRead, 1, false},
		{"parenthesised select", "(SELECT 1) UNION (SELECT 2)", ClassRead, 1, false},
		{"cte read", "WITH x(a) AS (SELECT 1) SELECT a FROM x", ClassRead, 1, false},
		{"cte read materialized", "WITH x AS MATERIALIZED (SELECT 1) SELECT * FROM x", ClassRead, 1, false},
		{"cast type modifier", "SELECT CAST(price AS numeric(10,2)), price::varchar(20) FROM t", ClassRead, 1, false},
		{"in subquery", "SELECT * FROM t WHERE id IN (SELECT id FROM u) AND EXISTS (SELECT 1)", ClassRead, 1, false},
		{"named params", "SELECT * FROM t WHERE a = :a AND b = @b AND c = ?1", ClassRead, 1, false},
		{"blob literal", "SELECT X'00ff'", ClassRead, 1, false},
		{"explain", "EXPLAIN SELECT 1", ClassRead, 1, false},
		{"numbers", "SELECT 1, 1.5, .5, 1e5, 1.5E-3, 0x1F FROM t WHERE a > 2", ClassRead, 1, false},
		{"number hides into", "SELECT 1INTO newtable FROM t", 0, 0, true},
		{"number hides for", "SELECT 1FOR UPDATE", 0, 0, true},
		{"number with underscore", "SELECT 1_000", 0, 0, true},
		{"bad exponent", "SELECT 1e", 0, 0, true},
		{"double dot", "SELECT 1.2.3", 0, 0, true},
		{"insert or ignore", "INSERT OR IGNORE INTO t VALUES (1)", ClassInsert, 1, false},
		{"cte select into", "WITH x AS (SELECT 1) SELECT * INTO t FROM x", ClassDDL, 1, false},
		{"recursive cte", "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10) SELECT n FROM r", ClassRead, 1, false},
		{"window and filter", "SELECT count(*) FILTER (WHERE a > 1) OVER (PARTITION BY b ORDER BY c) FROM t", ClassRead, 1, false},
		{"join using", "SELECT * FROM a JOIN b USING (id) LEFT JOIN c ON (a.x = c.x)", ClassRead, 1, false},
		{"skip locked", "SELECT * FROM jobs FOR UPDATE SKIP LOCKED", ClassUpdate, 1, false},
		{"explain analyze delete", "EXPLAIN ANALYZE DELETE FROM t", ClassDelete, 1, false},
		{"prepare delete", "PREPARE p AS DELETE FROM t", ClassOther, 1, false},
		{"copy to program", "COPY (SELECT 1) TO PROGRAM 'id'", ClassOther, 1, false},
		{"lateral side effect", "SELECT * FROM t, LATERAL pg_sleep(1)", 0, 0, true},
		{"insert select side effect", "INSERT INTO t SELECT pg_sleep(1)", 0, 0, true},
		{"update subquery side effect", "UPDATE t SET a = (SELECT nextval('s'))", 0, 0, true},
		{"word with dollar param", "SELECT$1", 0, 0, true},
		{"insert", "INSERT INTO orders (id, status) VALUES ($1, $2)", ClassInsert, 1, false},
		{"insert no space", "INSERT INTO orders(id) VALUES (1)", ClassInsert, 1, false},
		{"insert select", "INSERT INTO a SELECT * FROM b", ClassInsert, 1, false},
		{"upsert do update", "INSERT INTO t (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET n = 2", ClassUpdate, 1, false},
		{"update", "UPDATE orders SET status = 'shipped' WHERE id = 1", ClassUpdate, 1, false},
		{"select for update", "SELECT * FROM orders WHERE id = 1 FOR UPDATE", ClassUpdate, 1, false},
		{"select for share", "SELECT * FROM orders FOR SHARE", ClassUpdate, 1, false},
		{"select for no key update", "SELECT * FROM orders FOR NO KEY UPDATE NOWAIT", ClassUpdate, 1, false},
		{"delete", "DELETE FROM orders WHERE id = 1", ClassDelete, 1, false},
		{"with delete", "WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d", ClassDelete, 1, false},
		{"with insert", "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", ClassInsert, 1, false},
		{"with update in cte", "WITH u AS (UPDATE t SET a = 1 RETURNING a) SELECT * FROM u", ClassUpdate, 1, false},
		{"insert or replace", "INSERT OR REPLACE INTO t VALUES (1)", ClassDelete, 1, false},
		{"replace into", "REPLACE INTO t VALUES (1)", ClassDelete, 1, false},
		{"replace function", "SELECT replace(name, 'a', 'b') FROM t", ClassRead, 1, false},
		{"merge", "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", ClassDelete, 1, false},
		{"select into", "SELECT * INTO newtable FROM t", ClassDDL, 1, false},
		{"drop", "DROP TABLE orders", ClassDDL, 1, false},
		{"truncate", "TRUNCATE orders", ClassDDL, 1, false},
		{"alter", "ALTER TABLE orders ADD COLUMN x int", ClassDDL, 1, false},
		{"create", "CREATE TABLE x (id integer primary key)", ClassDDL, 1, false},
		{"grant", "GRANT ALL ON orders TO public", ClassPrivilege, 1, false},
		{"revoke", "REVOKE SELECT ON t FROM bob", ClassPrivilege, 1, false},
		{"pragma", "PRAGMA query_only = 0", ClassOther, 1, false},
		{"set", "SET transaction_read_only = off", ClassOther, 1, false},
		{"set transaction", "SET TRANSACTION READ WRITE", ClassOther, 1, false},
		{"commit", "COMMIT", ClassOther, 1, false},
		{"copy", "COPY t TO '/tmp/x'", ClassOther, 1, false},
		{"attach", "ATTACH DATABASE '/tmp/x.db' AS x", ClassOther, 1, false},
		{"do block", "DO $$ BEGIN DELETE FROM t; END $$", 0, 0, true},
		{"multi select drop", "SELECT 1; DROP TABLE orders", ClassDDL, 2, false},
		{"multi no space", "SELECT 1;DROP TABLE orders", ClassDDL, 2, false},
		{"multi two selects", "SELECT 1; SELECT 2", ClassRead, 2, false},
		{"line comment", "SELECT 1 -- ; DROP TABLE t", 0, 0, true},
		{"block comment", "SELECT /* x */ 1", 0, 0, true},
		{"comment hides keyword", "DEL/**/ETE FROM t", 0, 0, true},
		{"dollar quote", "SELECT $$; DROP TABLE t; $$", 0, 0, true},
		{"tagged dollar quote", "SELECT $a$x$a$", 0, 0, true},
		{"escape string", `SELECT E'\'; DROP TABLE t; --'`, 0, 0, true},
		{"backslash in string", `SELECT '\'; DROP TABLE t; --'`, 0, 0, true},
		{"unicode escape string", `SELECT U&'\0041'`, 0, 0, true},
		{"unterminated string", "SELECT 'abc", 0, 0, true},
		{"unterminated identifier", `SELECT "abc`, 0, 0, true},
		{"nul byte", "SELECT 1\x00; DROP TABLE t", 0, 0, true},
		{"nul in string", "SELECT 'a\x00'", 0, 0, true},
		{"fullwidth semicolon", "SELECT 1；DROP TABLE t", 0, 0, true},
		{"unicode keyword", "ＳＥＬＥＣＴ 1", 0, 0, true},
		{"cyrillic keyword", "SЕLECT 1", 0, 0, true},
		{"non-breaking space", "SELECT\u00a01", 0, 0, true},
		{"vertical tab", "SELECT\v1", 0, 0, true},
		{"backtick", "SELECT `a` FROM t", 0, 0, true},
		{"bracket identifier", "SELECT [a] FROM t", 0, 0, true},
		{"hash", "SELECT 1 # comment", 0, 0, true},
		{"pg_sleep", "SELECT pg_sleep(10)", 0, 0, true},
		{"pg_sleep spaced", "SELECT pg_sleep\n (10)", 0, 0, true},
		{"quoted function", `SELECT "pg_sleep"(10)`, 0, 0, true},
		{"nextval", "SELECT nextval('seq')", 0, 0, true},
		{"setval", "SELECT setval('seq', 1)", 0, 0, true},
		{"lo_import", "SELECT lo_import('/etc/passwd')", 0, 0, true},
		{"pg_read_file", "SELECT pg_read_file('/etc/passwd')", 0, 0, true},
		{"load_extension", "SELECT load_extension('x')", 0, 0, true},
		{"set_config", "SELECT set_config('transaction_read_only', 'off', true)", 0, 0, true},
		{"qualified function", "SELECT pg_catalog.pg_sleep(1)", 0, 0, true},
		{"qualified safe function", "SELECT pg_catalog.lower('a')", 0, 0, true},
		{"function in where", "SELECT * FROM t WHERE dblink('x', 'y') IS NOT NULL", 0, 0, true},
		{"table function", "SELECT * FROM pragma_table_info('t')", 0, 0, true},
		{"empty", "", 0, 0, true},
		{"only semicolons", " ; ; ", 0, 0, true},
		{"unknown verb", "FROB t", 0, 0, true},
		{"starts with number", "1", 0, 0, true},
		{"starts with replace function", "REPLACE('a','b','c')", 0, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Classify(tc.sql)
			if tc.err {
				if err == nil || !errors.Is(err, ErrUnclassifiable) {
					t.Fatalf("Classify(%q) = %+v, %v; want ErrUnclassifiable", tc.sql, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Classify(%q): %v", tc.sql, err)
			}
			if got.Class != tc.class || got.Statements != tc.stmts {
				t.Fatalf("Classify(%q) = %v/%d, want %v/%d", tc.sql, got.Class, got.Statements, tc.class, tc.stmts)
			}
		})
	}
}

// statementClasses has one statement per class for the role table.
var statementClasses = []struct {
	class string
	sql   string
}{
	{"read", "SELECT id FROM orders WHERE id = 1"},
	{"insert", "INSERT INTO orders (id, status) VALUES (9, 'new')"},
	{"update", "UPDATE orders SET status = 'shipped' WHERE id = 1"},
	{"locking-read", "SELECT id FROM orders WHERE id = 1 FOR UPDATE"},
	{"delete", "DELETE FROM orders WHERE id = 1"},
	{"cte-delete", "WITH d AS (DELETE FROM orders WHERE id = 1 RETURNING id) SELECT id FROM d"},
	{"drop", "DROP TABLE orders"},
	{"truncate", "TRUNCATE orders"},
	{"alter", "ALTER TABLE orders ADD COLUMN note text"},
	{"grant", "GRANT SELECT ON orders TO PUBLIC"},
	{"multi", "SELECT 1; DROP TABLE orders"},
	{"comment", "SELECT 1 -- hidden"},
	{"side-effect-function", "SELECT pg_sleep(1)"},
	{"session", "SET transaction_read_only = off"},
}

// roleStatementTable is the reference table: which role may run which class.
var roleStatementTable = map[string]map[string]bool{
	"reader":   {"read": true},
	"operator": {"read": true, "insert": true, "update": true, "locking-read": true},
	"admin": {"read": true, "insert": true, "update": true, "locking-read": true, "delete": true, "cte-delete": true,
		"drop": true, "truncate": true, "alter": true, "grant": true, "multi": true, "comment": true,
		"side-effect-function": true, "session": true},
	"nobody": {},
}

func TestCheckSQLRoleTable(t *testing.T) {
	p := supportPolicy(t)
	for role, allowed := range roleStatementTable {
		for _, sc := range statementClasses {
			t.Run(role+"/"+sc.class, func(t *testing.T) {
				err := p.CheckSQL(role, sc.sql)
				if (err == nil) != allowed[sc.class] {
					t.Fatalf("allowed = %v, want %v: %v", err == nil, allowed[sc.class], err)
				}
			})
		}
	}
}
