package secrets

import (
	"path"
	"strings"
)

// family is how a file's syntax says where a value assigned to a
// secret-looking name starts and ends. It matters only to the generic keyword
// rules (generic-password, generic-token): provider formats, private keys,
// URLs and high-entropy tokens are found the same way in every file.
type family uint8

const (
	// famAny is text of unknown syntax (no file name, prose, Go, Markdown,
	// JSON…): a value may be quoted or bare; a bare value ends at a space,
	// a quote, a comma that separates ("a, b", "a,b") or a statement's
	// semicolon.
	famAny family = iota
	// famConfig is a configuration file (YAML, INI, .properties, .env,
	// TOML, .conf): a bare value is a value and runs to the next space or
	// quote (commas and semicolons belong to it).
	famConfig
	// famCode is source code where a literal is quoted: a value must be a
	// string literal in one of the language's quotes, because a bare word
	// is an identifier or an expression. A keyword inside a string literal
	// ("…;password=…") or a comment is judged as famAny text.
	famCode
)

// lang is what the scanner knows about a file's language.
type lang struct {
	fam family
	// quotes are the delimiters of a string literal (famCode): `"'` + "`"
	// for scripting languages, `"` alone where ' makes a character literal.
	quotes string
	hash   bool // '#' after a space or at the start of a line starts a comment
	slash  bool // "//" and "/* … */" are comments
}

// Quote sets: languages where any quote makes a string, and those where only
// the double quote does (C, C++, Objective-C, C#, Java, Kotlin, Swift, Rust,
// Scala: '…' is a character literal or not a literal at all).
const (
	anyQuote    = "\"'`"
	doubleQuote = "\""
)

// langOf returns the language of a file from its name (a path or a base
// name). Unknown names get famAny, and so do Go (detect-secrets' Go rules
// accept bare values after = and :=, and Go's own sources show that the
// generic heuristics already reject its identifiers and expressions) and shell
// scripts (a bare word is a string: PASSWORD=s3cret; a reference is $VAR).
func langOf(name string) lang {
	base := strings.ToLower(path.Base(strings.ReplaceAll(name, "\\", "/")))
	switch base {
	case ".env", ".npmrc", ".pypirc", ".netrc", ".pgpass", ".git-credentials", ".htpasswd", ".dockercfg", "credentials":
		return lang{fam: famConfig}
	}
	if strings.HasPrefix(base, ".env.") {
		return lang{fam: famConfig}
	}
	ext := ""
	if i := strings.LastIndexByte(base, '.'); i >= 0 {
		ext = base[i+1:]
	}
	switch ext {
	case "yaml", "yml", "eyaml", "ini", "cfg", "conf", "cnf", "properties", "env", "toml":
		return lang{fam: famConfig}
	case "c", "h", "cc", "cpp", "cxx", "c++", "hh", "hpp", "hxx", "m", "mm", "cs", "java", "kt", "kts", "scala", "rs", "swift":
		return lang{fam: famCode, quotes: doubleQuote, slash: true}
	case "js", "jsx", "mjs", "cjs", "ts", "tsx", "mts", "cts", "cls", "apex", "trigger", "groovy", "gradle", "dart":
		return lang{fam: famCode, quotes: anyQuote, slash: true}
	case "php":
		return lang{fam: famCode, quotes: anyQuote, slash: true, hash: true}
	case "tf", "hcl":
		return lang{fam: famCode, quotes: anyQuote, slash: true, hash: true}
	case "py", "pyi", "pyw", "rb", "ps1", "psm1", "pl", "pm", "r":
		return lang{fam: famCode, quotes: anyQuote, hash: true}
	}
	return lang{}
}

// Lexer states.
const (
	lexCode         = 0
	lexLineComment  = '#'
	lexBlockComment = '*'
	lexTriple2      = 'D' // inside """…"""
	lexTriple1      = 'S' // inside '''…'''
	// Inside another string literal the state is its quote byte.
)

func tripleQuote(q byte) string {
	if q == '"' {
		return `"""`
	}
	return "'''"
}

func tripleState(q byte) byte {
	if q == '"' {
		return lexTriple2
	}
	return lexTriple1
}

// codeLexer tells whether a position of a famCode file is in code, in a
// string literal or in a comment. It reads the text once, forward: positions
// must be asked in non-decreasing order, as the keyword pre-filter reports
// its hits' ends, so a scan costs one pass however many keywords a line holds.
// Triple-quoted strings (three double quotes, or three single quotes where a
// single quote makes a string), template literals (`…`) and block comments
// span lines; other strings end at their line's end (a C++ raw string or a C#
// verbatim string spanning lines reads as code after its first line).
type codeLexer struct {
	text  string
	l     lang
	pos   int  // text[:pos] is lexed
	state byte // the state at pos
}

// at returns the state at p. A p before one already asked gets the state of
// the furthest position lexed (a hit's end never goes back); a position
// inside a character literal is code.
func (x *codeLexer) at(p int) byte {
	t := x.text
	for x.pos < p {
		c := t[x.pos]
		switch x.state {
		case lexCode:
			switch {
			case c == '\n':
			case x.l.slash && c == '/' && x.pos+1 < len(t) && t[x.pos+1] == '/':
				x.state = lexLineComment
			case x.l.slash && c == '/' && x.pos+1 < len(t) && t[x.pos+1] == '*':
				x.state = lexBlockComment
				x.pos++ // the '*' does not close it
			case x.l.hash && c == '#' && (x.pos == 0 || t[x.pos-1] == ' ' || t[x.pos-1] == '\t' || t[x.pos-1] == '\n'):
				x.state = lexLineComment
			case c == '"' || c == '\'' || c == '`':
				if c != '`' && strings.HasPrefix(t[x.pos:], tripleQuote(c)) && (c == '"' || strings.IndexByte(x.l.quotes, c) >= 0) {
					x.state = tripleState(c) // """…""", or '''…''' where ' quotes
					x.pos += 3
					continue
				}
				if strings.IndexByte(x.l.quotes, c) >= 0 {
					x.state = c
				} else if end := charLiteralEnd(t, x.pos); end > 0 {
					x.pos = end // skip a character literal such as '"'
					continue
				}
			}
		case lexLineComment:
			if c == '\n' {
				x.state = lexCode
			}
		case lexBlockComment:
			if c == '*' && x.pos+1 < len(t) && t[x.pos+1] == '/' {
				x.state = lexCode
				x.pos++
			}
		case lexTriple2, lexTriple1:
			q := byte('"')
			if x.state == lexTriple1 {
				q = '\''
			}
			switch {
			case c == '\\':
				x.pos++
			case c == q && strings.HasPrefix(t[x.pos:], tripleQuote(q)):
				x.state = lexCode
				x.pos += 2
			}
		case '`': // a template literal: it spans lines
			switch c {
			case '\\':
				x.pos++
			case '`':
				x.state = lexCode
			}
		default: // in a one-line string literal quoted by x.state
			switch c {
			case '\\':
				if x.pos+1 < len(t) && t[x.pos+1] != '\n' {
					x.pos++
				}
			case '\n':
				x.state = lexCode
			case x.state:
				x.state = lexCode
			}
		}
		x.pos++
	}
	return x.state
}

// charLiteralEnd returns the index just past a character literal opened by the
// quote at t[q] ('x', '\n', '\u00e9'), or 0 when there is none within a few
// bytes on the line (a Rust lifetime, an apostrophe).
func charLiteralEnd(t string, q int) int {
	for j := q + 1; j < len(t) && j-q <= 10; j++ {
		switch t[j] {
		case '\\':
			j++
		case '\n':
			return 0
		case t[q]:
			if j == q+1 {
				return 0
			}
			return j + 1
		}
	}
	return 0
}
