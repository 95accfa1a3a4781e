package scope

import (
	"errors"
	"fmt"
	"strings"
)

// Class is the kind of effect a SQL statement has. Classes are ordered: a
// higher class is more dangerous.
type Class uint8

// The statement classes, in increasing order of danger.
const (
	// ClassUnknown: the statement could not be classified; only full access runs it.
	ClassUnknown Class = iota
	// ClassRead: SELECT, VALUES, TABLE, SHOW and EXPLAIN of those, calling only
	// functions known to have no side effects.
	ClassRead
	// ClassInsert: INSERT (without REPLACE).
	ClassInsert
	// ClassUpdate: UPDATE, upserts, and locking reads (SELECT ... FOR UPDATE/SHARE).
	ClassUpdate
	// ClassDelete: DELETE, MERGE, REPLACE.
	ClassDelete
	// ClassDDL: CREATE, ALTER, DROP, TRUNCATE, SELECT ... INTO and other schema changes.
	ClassDDL
	// ClassPrivilege: GRANT, REVOKE.
	ClassPrivilege
	// ClassOther: session and server commands (SET, PRAGMA, COPY, CALL, DO,
	// ATTACH, VACUUM, transaction control, ...).
	ClassOther
)

var classNames = [...]string{"unknown", "read", "insert", "update", "delete", "ddl", "privilege", "other"}

func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("Class(%d)", c)
}

// rank orders classes by danger; unknown is the most dangerous.
func (c Class) rank() int {
	if c == ClassUnknown {
		return 100
	}
	return int(c)
}

// Classification is what [Classify] found in a query string.
type Classification struct {
	// Class is the most dangerous class among the statements.
	Class Class
	// Statements is the number of non-empty statements.
	Statements int
	// Verb is the first keyword of the first statement, upper-cased.
	Verb string
}

// ErrUnclassifiable is matched by errors from [Classify] for SQL the classifier
// does not understand. Such SQL is run only with [AccessFull].
var ErrUnclassifiable = errors.New("scope: sql: cannot classify statement")

// maxSQLLen bounds a query string the classifier reads.
const maxSQLLen = 64 << 10

// Classify classifies a SQL query string. It is a conservative lexer, not a
// parser: anything it does not understand is an error matching
// [ErrUnclassifiable], including comments, dollar-quoted and escape strings,
// backslashes in strings, non-ASCII outside literals, NUL bytes, bracket and
// backtick quoting, and calls to functions not on its list of side-effect-free
// functions (so pg_sleep, nextval, lo_import, load_extension... fail closed).
// Write keywords anywhere in a statement (in a CTE, after FOR, after ON
// CONFLICT DO) raise its class, so an unquoted column named like one (share,
// copy, pragma) makes a read look like a write: quote such names.
func Classify(query string) (Classification, error) {
	var out Classification
	toks, err := lexSQL(query)
	if err != nil {
		return out, err
	}
	start := 0
	for i := 0; i <= len(toks); i++ {
		if i < len(toks) && !(toks[i].kind == tokOp && toks[i].text == ";") {
			continue
		}
		stmt := toks[start:i]
		start = i + 1
		if len(stmt) == 0 {
			continue
		}
		c, verb, err := classifyStatement(stmt)
		if err != nil {
			return Classification{Class: ClassUnknown, Statements: out.Statements + 1}, err
		}
		if out.Statements == 0 {
			out.Class, out.Verb = c, verb
		} else if c.rank() > out.Class.rank() {
			out.Class = c
		}
		out.Statements++
	}
	if out.Statements == 0 {
		return out, fmt.Errorf("%w: empty query", ErrUnclassifiable)
	}
	return out, nil
}

type tokKind uint8

const (
	tokWord   tokKind = iota // unquoted identifier or keyword, upper-cased
	tokQuoted                // "quoted identifier"
	tokString                // 'literal'
	tokNumber
	tokParam
	tokOp
)

type token struct {
	kind tokKind
	text string
}

func unclassifiable(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnclassifiable, fmt.Sprintf(format, args...))
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }

func lexSQL(q string) ([]token, error) {
	if len(q) > maxSQLLen {
		return nil, unclassifiable("query longer than %d bytes", maxSQLLen)
	}
	toks := make([]token, 0, 32)
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '-' && i+1 < len(q) && q[i+1] == '-', c == '/' && i+1 < len(q) && q[i+1] == '*':
			return nil, unclassifiable("comments are not allowed")
		case c == '\'':
			j := i + 1
			for {
				if j >= len(q) {
					return nil, unclassifiable("unterminated string")
				}
				if q[j] == '\\' {
					return nil, unclassifiable("backslash in string literal")
				}
				if q[j] == 0 {
					return nil, unclassifiable("NUL byte")
				}
				if q[j] == '\'' {
					if j+1 < len(q) && q[j+1] == '\'' {
						j += 2
						continue
					}
					break
				}
				j++
			}
			toks = append(toks, token{tokString, q[i : j+1]})
			i = j + 1
		case c == '"':
			j := i + 1
			for {
				if j >= len(q) {
					return nil, unclassifiable("unterminated quoted identifier")
				}
				if q[j] == 0 {
					return nil, unclassifiable("NUL byte")
				}
				if q[j] == '"' {
					if j+1 < len(q) && q[j+1] == '"' {
						j += 2
						continue
					}
					break
				}
				j++
			}
			if j == i+1 {
				return nil, unclassifiable("empty quoted identifier")
			}
			toks = append(toks, token{tokQuoted, strings.ReplaceAll(q[i+1:j], `""`, `"`)})
			i = j + 1
		case isLetter(c):
			j := i + 1
			for j < len(q) && (isLetter(q[j]) || isDigit(q[j]) || q[j] == '$') {
				j++
			}
			w := strings.ToUpper(q[i:j])
			if j < len(q) && (q[j] == '\'' || q[j] == '"') {
				// A prefixed literal: X'..' (blob), B'..' (bits) and N'..' are plain
				// data; E'..' (backslash escapes), U&'..' and the rest are refused.
				if !(q[j] == '\'' && (w == "X" || w == "B" || w == "N")) {
					return nil, unclassifiable("prefixed literal %s%c", q[i:j], q[j])
				}
			}
			toks = append(toks, token{tokWord, w})
			i = j
		case isDigit(c) || c == '.' && i+1 < len(q) && isDigit(q[i+1]):
			j := lexNumber(q, i)
			if j < 0 {
				return nil, unclassifiable("malformed number")
			}
			toks = append(toks, token{tokNumber, q[i:j]})
			i = j
		case c == '$':
			j := i + 1
			for j < len(q) && isDigit(q[j]) {
				j++
			}
			if j == i+1 {
				return nil, unclassifiable("dollar quoting or $identifier")
			}
			toks = append(toks, token{tokParam, q[i:j]})
			i = j
		case c == '?':
			j := i + 1
			for j < len(q) && isDigit(q[j]) {
				j++
			}
			toks = append(toks, token{tokParam, q[i:j]})
			i = j
		case (c == ':' || c == '@') && i+1 < len(q) && isLetter(q[i+1]) && (c == '@' || i == 0 || q[i-1] != ':'):
			j := i + 1
			for j < len(q) && (isLetter(q[j]) || isDigit(q[j])) {
				j++
			}
			toks = append(toks, token{tokParam, q[i:j]})
			i = j
		case c == ':' && i+1 < len(q) && q[i+1] == ':':
			toks = append(toks, token{tokOp, "::"})
			i += 2
		case strings.IndexByte("(),;.+-*/%<>=!|&~^:", c) >= 0:
			if c == '&' && i+1 < len(q) && (q[i+1] == '\'' || q[i+1] == '"') {
				return nil, unclassifiable("unicode-escape literal")
			}
			toks = append(toks, token{tokOp, q[i : i+1]})
			i++
		case c >= 0x80:
			return nil, unclassifiable("non-ASCII character outside a literal")
		default:
			return nil, unclassifiable("unexpected character %q", c)
		}
	}
	return toks, nil
}

// verbClass is the class a statement's first keyword gives it.
func verbClass(v string) (Class, bool) {
	switch v {
	case "SELECT", "VALUES", "TABLE", "WITH", "SHOW", "EXPLAIN", "(":
		return ClassRead, true
	case "INSERT":
		return ClassInsert, true
	case "UPDATE":
		return ClassUpdate, true
	case "DELETE", "MERGE", "REPLACE", "UPSERT":
		return ClassDelete, true
	case "CREATE", "ALTER", "DROP", "TRUNCATE", "RENAME", "COMMENT", "REINDEX", "CLUSTER", "REFRESH", "SECURITY", "IMPORT":
		return ClassDDL, true
	case "GRANT", "REVOKE":
		return ClassPrivilege, true
	case "SET", "RESET", "PRAGMA", "COPY", "CALL", "DO", "LOCK", "VACUUM", "ANALYZE", "ANALYSE", "ATTACH", "DETACH",
		"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE", "LISTEN", "NOTIFY", "UNLISTEN",
		"PREPARE", "EXECUTE", "DEALLOCATE", "DISCARD", "LOAD", "CHECKPOINT", "FETCH", "MOVE", "CLOSE", "DECLARE":
		return ClassOther, true
	}
	return ClassUnknown, false
}

// wordClass is the class a keyword raises a statement to wherever it appears.
func wordClass(w string) Class {
	switch w {
	case "INSERT":
		return ClassInsert
	case "UPDATE", "SHARE":
		return ClassUpdate
	case "DELETE", "MERGE":
		return ClassDelete
	case "CREATE", "ALTER", "DROP", "TRUNCATE":
		return ClassDDL
	case "GRANT", "REVOKE":
		return ClassPrivilege
	case "PRAGMA", "ATTACH", "DETACH", "COPY", "CALL", "VACUUM":
		return ClassOther
	}
	return ClassRead
}

// parenKeywords may be followed by "(" without being a function call.
var parenKeywords = map[string]bool{
	"IN": true, "EXISTS": true, "ANY": true, "ALL": true, "SOME": true, "VALUES": true, "AS": true,
	"OVER": true, "FILTER": true, "GROUP": true, "ON": true, "USING": true, "AND": true, "OR": true,
	"NOT": true, "SELECT": true, "WHERE": true, "FROM": true, "JOIN": true, "WHEN": true, "THEN": true,
	"ELSE": true, "CASE": true, "BY": true, "SET": true, "LATERAL": true, "ROW": true, "LIKE": true,
	"ILIKE": true, "BETWEEN": true, "IS": true, "DISTINCT": true, "WITH": true, "HAVING": true,
	"LIMIT": true, "OFFSET": true, "UNION": true, "INTERSECT": true, "EXCEPT": true, "CONFLICT": true,
	"DO": true, "CAST": true, "EXTRACT": true, "ROLLUP": true, "CUBE": true, "SETS": true, "RETURNING": true,
	"TABLE": true, "WINDOW": true, "PARTITION": true, "ORDER": true, "ESCAPE": true, "EXPLAIN": true,
	"MATERIALIZED": true, "RECURSIVE": true, "INTO": true, "GLOB": true, "MATCH": true, "REGEXP": true,
	"UPDATE": true, "DEFAULT": true, "CHECK": true, "KEY": true, "UNIQUE": true, "REFERENCES": true,
}

// safeFunctions have no side effects in SQLite and PostgreSQL (lower case).
var safeFunctions = map[string]bool{
	// aggregates and window functions
	"count": true, "sum": true, "avg": true, "min": true, "max": true, "total": true, "group_concat": true,
	"string_agg": true, "array_agg": true, "json_agg": true, "jsonb_agg": true, "json_group_array": true,
	"bool_and": true, "bool_or": true, "every": true, "row_number": true, "rank": true, "dense_rank": true,
	"percent_rank": true, "cume_dist": true, "ntile": true, "lag": true, "lead": true, "first_value": true,
	"last_value": true, "nth_value": true, "stddev": true, "variance": true,
	// strings
	"lower": true, "upper": true, "length": true, "char_length": true, "character_length": true,
	"octet_length": true, "substr": true, "substring": true, "trim": true, "ltrim": true, "rtrim": true,
	"btrim": true, "replace": true, "concat": true, "concat_ws": true, "instr": true, "position": true,
	"strpos": true, "left": true, "right": true, "lpad": true, "rpad": true, "reverse": true, "initcap": true,
	"split_part": true, "starts_with": true, "hex": true, "quote": true, "printf": true, "format": true,
	"like": true, "glob": true, "unicode": true, "char": true, "chr": true, "ascii": true, "md5": true,
	// numbers
	"abs": true, "round": true, "ceil": true, "ceiling": true, "floor": true, "trunc": true, "mod": true,
	"power": true, "pow": true, "sqrt": true, "sign": true, "greatest": true, "least": true, "exp": true,
	"ln": true, "log": true, "log10": true, "random": true,
	// nulls and conditionals
	"coalesce": true, "nullif": true, "ifnull": true, "iif": true, "typeof": true,
	// dates
	"date": true, "time": true, "datetime": true, "julianday": true, "strftime": true, "unixepoch": true,
	"now": true, "date_trunc": true, "date_part": true, "age": true, "to_char": true, "to_date": true,
	"to_timestamp": true, "to_number": true, "make_date": true, "make_interval": true,
	// JSON
	"json": true, "json_extract": true, "json_array": true, "json_object": true, "json_array_length": true,
	"json_type": true, "json_valid": true, "json_build_object": true, "jsonb_build_object": true,
	"json_build_array": true, "jsonb_build_array": true, "to_json": true, "to_jsonb": true,
	"jsonb_array_length": true, "json_typeof": true, "jsonb_typeof": true,
	// type names with modifiers, as in CAST(x AS numeric(10,2))
	"numeric": true, "decimal": true, "varchar": true, "character": true, "bit": true, "float": true,
	"timestamp": true, "interval": true, "varbit": true,
}

func classifyStatement(stmt []token) (Class, string, error) {
	first := stmt[0]
	verb := first.text
	if first.kind == tokOp && first.text == "(" {
		verb = "("
	} else if first.kind != tokWord {
		return ClassUnknown, "", unclassifiable("statement starts with %q", first.text)
	}
	class, ok := verbClass(verb)
	if !ok {
		return ClassUnknown, verb, unclassifiable("unknown statement %q", verb)
	}
	if verb == "REPLACE" && len(stmt) > 1 && stmt[1].text == "(" {
		return ClassUnknown, verb, unclassifiable("statement starts with a function call")
	}
	raise := func(c Class) {
		if c.rank() > class.rank() {
			class = c
		}
	}
	for i, t := range stmt {
		next := ""
		if i+1 < len(stmt) {
			next = stmt[i+1].text
		}
		if t.kind == tokWord {
			switch {
			case t.text == "REPLACE" && next != "(":
				raise(ClassDelete) // INSERT OR REPLACE, REPLACE INTO
			case t.text == "INTO" && !insertInto(stmt, i):
				raise(ClassDDL) // SELECT ... INTO creates a table
			default:
				raise(wordClass(t.text))
			}
		}
		if next != "(" || (t.kind != tokWord && t.kind != tokQuoted) || class.rank() > ClassUpdate.rank() {
			continue
		}
		if t.kind == tokWord && parenKeywords[t.text] {
			continue
		}
		if i > 0 {
			prev := stmt[i-1]
			if prev.kind == tokWord && (prev.text == "INTO" || prev.text == "AS" || prev.text == "UPDATE" || prev.text == "TABLE") {
				continue // INSERT INTO t(a, b); alias column lists; table names
			}
			if prev.kind == tokOp && prev.text == "." {
				return ClassUnknown, verb, unclassifiable("call of a schema-qualified function")
			}
		}
		if cteColumnList(stmt, i+1) {
			continue // WITH name(a, b) AS (...)
		}
		name := t.text
		if t.kind == tokWord {
			name = strings.ToLower(name)
		}
		if !safeFunctions[name] {
			return ClassUnknown, verb, unclassifiable("call of function %q, which may have side effects", name)
		}
	}
	return class, verb, nil
}

// cteColumnList reports whether the parenthesis at open closes to be followed by
// AS ( or AS [NOT] MATERIALIZED: a CTE's column list, not a call.
func cteColumnList(stmt []token, open int) bool {
	depth := 0
	for j := open; j < len(stmt); j++ {
		if stmt[j].kind != tokOp {
			continue
		}
		switch stmt[j].text {
		case "(":
			depth++
		case ")":
			depth--
			if depth == 0 {
				if j+2 < len(stmt) && stmt[j+1].kind == tokWord && stmt[j+1].text == "AS" {
					n := stmt[j+2]
					return (n.kind == tokOp && n.text == "(") || (n.kind == tokWord && (n.text == "MATERIALIZED" || n.text == "NOT"))
				}
				return false
			}
		}
	}
	return false
}

// insertInto reports whether the INTO at i belongs to INSERT, REPLACE or MERGE
// (including SQLite's INSERT OR IGNORE INTO and friends).
func insertInto(stmt []token, i int) bool {
	word := func(j int) string {
		if j < 0 || stmt[j].kind != tokWord {
			return ""
		}
		return stmt[j].text
	}
	switch word(i - 1) {
	case "INSERT", "REPLACE", "MERGE":
		return true
	case "IGNORE", "ABORT", "FAIL", "ROLLBACK":
		return word(i-2) == "OR" && word(i-3) == "INSERT"
	}
	return false
}

// lexNumber returns the end of the numeric literal at q[i:], or -1 when it is
// malformed or runs into a letter: "1INTO t" must not hide a keyword inside
// a number, as PostgreSQL before 16 reads it as "1 INTO t".
func lexNumber(q string, i int) int {
	digits := func(j int, hex bool) int {
		for j < len(q) && (isDigit(q[j]) || hex && strings.IndexByte("abcdefABCDEF", q[j]) >= 0) {
			j++
		}
		return j
	}
	j := i
	if q[j] == '0' && j+1 < len(q) && (q[j+1] == 'x' || q[j+1] == 'X') {
		k := digits(j+2, true)
		if k == j+2 {
			return -1
		}
		j = k
	} else {
		j = digits(j, false)
		if j < len(q) && q[j] == '.' {
			j = digits(j+1, false)
		}
		if j < len(q) && (q[j] == 'e' || q[j] == 'E') {
			k := j + 1
			if k < len(q) && (q[k] == '+' || q[k] == '-') {
				k++
			}
			e := digits(k, false)
			if e == k {
				return -1
			}
			j = e
		}
	}
	if j < len(q) && (isLetter(q[j]) || isDigit(q[j]) || q[j] == '$' || q[j] == '.' || q[j] >= 0x80) {
		return -1
	}
	return j
}
