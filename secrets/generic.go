package secrets

import (
	"regexp"
	"strings"
	"sync"
)

// genericRules returns the keyword-assignment detectors: a value assigned to (or
// compared with) a name that says it is secret — password = "…", api_key: …,
// "…" == secret — judged by heuristics that reject references, templates and
// placeholders. Strong names (password, secret, api key, private key) need no
// entropy; weak ones (token, credential) need a long, high-entropy value.
func genericRules() []rule {
	strong := []string{"password", "passwd", "pwd", "passphrase", "secret", "api_key", "apikey", "api-key",
		"auth_key", "authkey", "access_key", "accesskey", "private_key", "privatekey", "priv_key",
		"client_secret", "db_pass", "database_pass", "key_pass", "service_key", "account_key",
		"db_key", "database_key", "client_key", "contraseña", "contrasena", "passwort", "mot_de_passe"}
	weak := []string{"token", "credential", "auth", "sessionid", "session_id", "cookie", "signing_key", "encryption_key"}
	return []rule{
		{id: "xml-secret-element", keywords: kw("password>", "passwd>", "secret>", "apikey>", "api_key>", "token>", "clientsecret>", "client_secret>", "accesskey>"),
			re: regexp.MustCompile(`<(?i:[\w.:-]*(?:password|passwd|secret|api_?key|token|access_?key))>([^<\s]{6,200})</`), group: 1,
			validate: func(v string) bool { return likelySecret(v, true, true, false) }},
		{id: "mysql-cli-password", keywords: kw("mysql"), re: regexp.MustCompile(`\bmysql(?:dump|admin|sh)?\s[^\n]{0,100}?\s-p([^\s'"\-][^\s'"]{3,})`), group: 1,
			validate: notPlaceholderPassword},
		{id: "generic-password", keywords: kw(strong...), check: func(w window) []Finding { return genericCheck(w, "generic-password", true) }},
		{id: "generic-token", keywords: kw(weak...), check: func(w window) []Finding { return genericCheck(w, "generic-token", false) }},
	}
}

func isIdentChar(c byte) bool { return isAlnum(c) || c == '_' || c == '-' || c == '.' || c >= 0x80 }

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// genericCheck looks at the identifier around the keyword hit and the value
// assigned to it or compared with it, read by the rules of the file's
// language (see [family]).
func genericCheck(w window, id string, strong bool) []Finding {
	t := w.text
	is, ie := w.hit, w.hitEnd
	for is > 0 && w.hit-is < 64 && isIdentChar(t[is-1]) {
		is--
	}
	for ie < len(t) && ie-w.hitEnd < 64 && isIdentChar(t[ie]) {
		ie++
	}
	if is >= 2 && (t[is-2:is] == "${" || t[is-2:is] == "{{") {
		return nil // a template variable or a ${secret:NAME} placeholder
	}
	l := w.lang
	if l.fam == famCode && w.lex != nil {
		switch st := w.lex.at(w.hitEnd); st {
		case lexCode:
		case lexLineComment, lexBlockComment:
			l = lang{} // prose: judged as text of unknown syntax
		default:
			// Inside a string literal: a quoted key ("password": …) is
			// code; text inside a longer literal ("…;password=…") is not.
			if ie >= len(t) || t[ie] != st {
				l = lang{}
			}
		}
	}
	// A macro's name must end with the keyword (WIFI_PASSWORD, API_KEY):
	// headers are full of labels such as PEM_STRING_PRIVATE_KEY_USAGE.
	define := defineBefore(t, is) && keywordEndsName(t[w.hitEnd:ie])
	if v, ok := valueAfter(t, ie, l, define); ok {
		s := t[v.start:v.end]
		if v.interp && strings.IndexByte(s, '{') >= 0 {
			return nil // an interpolated string: f"{user}:{password}"
		}
		if likelySecret(s, v.quoted, strong, urlQuery(t, is)) && !echoesName(t[is:ie], s) {
			return []Finding{{Rule: id, Start: v.start, End: v.end}}
		}
		return nil
	}
	if vs, ve, ok := valueBefore(t, is, l); ok && likelySecret(t[vs:ve], true, strong, false) && !echoesName(t[is:ie], t[vs:ve]) {
		return []Finding{{Rule: id, Start: vs, End: ve}}
	}
	if vs, ve, ok := pairValue(t, is, ie, l); ok && likelySecret(t[vs:ve], true, strong, false) && !echoesName(t[is:ie], t[vs:ve]) {
		return []Finding{{Rule: id, Start: vs, End: ve}}
	}
	return nil
}

// setterCalls are the calls whose first two arguments are a name and the value
// it is set to: define('DB_PASSWORD', '…') in PHP (wp-config.php),
// os.environ.setdefault("SECRET_KEY", "…"), props.setProperty("password", "…"),
// headers.put("X-Api-Key", "…"). Getters with a default (get, getenv,
// getProperty) and other calls are not: their second argument is no value of
// the name.
var setterCalls = [...]string{"define", "setenv", "putenv", "setdefault", "put", "set", "setproperty",
	"setheader", "addheader", "header", "setitem", "setsecret", "setpassword", "withpassword", "add"}

// pairValue parses `call("NAME", "value"` around the quoted name t[is:ie]:
// a setter call's first argument is the name, the second a string literal.
func pairValue(t string, is, ie int, l lang) (vs, ve int, ok bool) {
	if is == 0 || ie >= len(t) || t[ie] != t[is-1] || (t[ie] != '"' && t[ie] != '\'') {
		return 0, 0, false
	}
	// The call: name( "
	i := is - 1
	for i > 0 && is-i < 8 && isSpace(t[i-1]) {
		i--
	}
	if i == 0 || t[i-1] != '(' {
		return 0, 0, false
	}
	ce := i - 1
	cs := ce
	for cs > 0 && ce-cs < 32 && (isAlnum(t[cs-1]) || t[cs-1] == '_') {
		cs--
	}
	var buf [32]byte
	call := lowerASCII(buf[:0], t[cs:ce])
	setter := false
	for _, c := range setterCalls {
		setter = setter || call == c
	}
	if !setter {
		return 0, 0, false
	}
	// The value: , "value"
	j := ie + 1
	for j < len(t) && j-ie < 8 && isSpace(t[j]) {
		j++
	}
	if j >= len(t) || t[j] != ',' {
		return 0, 0, false
	}
	j++
	for j < len(t) && j-ie < 16 && isSpace(t[j]) {
		j++
	}
	j += stringPrefixLen(t, j)
	if j >= len(t) || (t[j] != '"' && t[j] != '\'' && t[j] != '`') || (l.fam == famCode && strings.IndexByte(l.quotes, t[j]) < 0) {
		return 0, 0, false
	}
	return quotedAt(t, j)
}

// echoesName reports whether the value v repeats the end of the name it is
// assigned to, ignoring case and separators: CHALLENGE_PASSWORD =
// "challengePassword", LN_pkcs9_challengePassword "challengePassword". Such a
// value is the name of a field or an attribute, and a credential is never its
// own variable's name.
func echoesName(name, v string) bool {
	if len(v) > 64 {
		return false
	}
	var nb, vb [64]byte
	fold := func(dst []byte, s string) []byte {
		for i := 0; i < len(s) && len(dst) < cap(dst); i++ {
			if c := s[i]; c != '_' && c != '-' && c != '.' && c != ' ' {
				dst = append(dst, foldTable[c])
			}
		}
		return dst
	}
	n, w := fold(nb[:0], name), fold(vb[:0], v)
	return len(w) >= 6 && len(w) <= len(n) && string(n[len(n)-len(w):]) == string(w)
}

func urlQuery(t string, is int) bool { return is > 0 && (t[is-1] == '?' || t[is-1] == '&') }

// keywordEndsName reports whether rest, what follows the keyword in a name,
// leaves the keyword its last word: nothing, or _KEY, _STR, _VALUE, a digit.
func keywordEndsName(rest string) bool {
	switch strings.ToLower(strings.TrimLeft(rest, "_-")) {
	case "", "key", "str", "string", "value", "s", "1", "2":
		return true
	}
	return false
}

// defineBefore reports whether the name starting at t[is] is a C macro's: its
// line starts with "#define" (spaces allowed around the '#') and spaces.
func defineBefore(t string, is int) bool {
	i := is
	if i == 0 || !isSpace(t[i-1]) {
		return false
	}
	skip := func() {
		for k := 0; i > 0 && isSpace(t[i-1]) && k < 16; k++ {
			i--
		}
	}
	skip()
	if i < 6 || t[i-6:i] != "define" {
		return false
	}
	i -= 6
	skip()
	if i == 0 || t[i-1] != '#' {
		return false
	}
	i--
	skip()
	return i == 0 || t[i-1] == '\n'
}

// value is where a value assigned to a name sits: t[start:end], whether it
// was quoted, and whether its literal interpolates ({…} is code, not text).
type value struct {
	start, end     int
	quoted, interp bool
}

// valueAfter parses `NAME<closing>? <op> <value>` from i (just after NAME).
// In code (famCode) only a string literal in one of the language's quotes is a
// value; in a configuration file a bare value runs to the next space or quote;
// otherwise (famAny) it also ends at a separating comma or a statement's
// semicolon.
//
// define says NAME is a C macro's (#define NAME "value").
func valueAfter(t string, i int, l lang, define bool) (value, bool) {
	n := len(t)
	isQuote := func(c byte) bool {
		if l.fam == famCode {
			return strings.IndexByte(l.quotes, c) >= 0
		}
		return c == '"' || c == '\'' || c == '`'
	}
	// Closing quote/bracket of a quoted key or subscript: "key": / key[] / key[25]
	for k := 0; k < 2 && i < n && (t[i] == '"' || t[i] == '\'' || t[i] == ']'); k++ {
		i++
	}
	if i < n && t[i] == '[' {
		j := i + 1
		for j < n && j-i < 8 && t[j] >= '0' && t[j] <= '9' {
			j++
		}
		if j < n && t[j] == ']' {
			i = j + 1
		}
	}
	sp := i
	for i < n && isSpace(t[i]) {
		i++
	}
	hadSpace := i > sp
	op := ""
	for _, cand := range [...]string{"===", "!==", ":=", "=>", "==", "!=", "=", ":"} {
		if strings.HasPrefix(t[i:], cand) {
			op = cand
			break
		}
	}
	if op == "" {
		// C-like `password "value";`: a quoted value ending a statement, or
		// the value of a #define.
		if define {
			i += stringPrefixLen(t, i)
		}
		if !hadSpace || i >= n || !isQuote(t[i]) {
			return value{}, false
		}
		vs, ve, ok := quotedAt(t, i)
		if !ok || !(define || ve+1 < n && t[ve+1] == ';') {
			return value{}, false
		}
		return value{start: vs, end: ve, quoted: true}, true
	}
	i += len(op)
	if op == ":" && i < n && t[i] == ':' { // C++ scope operator
		return value{}, false
	}
	for i < n && isSpace(t[i]) {
		i++
	}
	if op == ":" && l.fam != famConfig {
		// A type annotation: password: str = "…" (Python, TypeScript,
		// Kotlin, Swift, Rust, Scala).
		if k := typeAnnotationEnd(t, i); k > 0 {
			i = k + 1
			for i < n && isSpace(t[i]) {
				i++
			}
		}
	}
	interp := false
	if k := stringPrefixLen(t, i); k > 0 {
		interp = strings.ContainsAny(t[i:i+k], "fF$")
		i += k
	}
	if i >= n {
		return value{}, false
	}
	switch t[i] {
	case '"', '\'', '`':
		if !isQuote(t[i]) {
			return value{}, false // '…' in C, Java or Objective-C is not a string
		}
		vs, ve, ok := quotedAt(t, i)
		return value{start: vs, end: ve, quoted: true, interp: interp}, ok
	case '\n', '\r':
		return value{}, false
	}
	if l.fam == famCode {
		return value{}, false // a bare word in code is an identifier or an expression
	}
	j := i
	for j < n && j-i < 200 {
		c := t[j]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' || c == '\'' || c == '`' {
			break
		}
		if l.fam == famAny && (c == ';' || c == '&' || (c == ',' && separatingComma(t, j))) {
			break
		}
		j++
	}
	if l.fam == famConfig {
		for j > i && (t[j-1] == ',' || t[j-1] == ';') {
			j-- // a list or statement separator ending the line
		}
	}
	if j == i || (l.fam == famAny && j < n && t[j] == ';' && (hadSpace || (i > 0 && isSpace(t[i-1])))) {
		// Nothing, or an unquoted expression ending a statement (x = y;): in
		// languages with semicolons a literal secret is quoted. Key=Value; with
		// no spaces is a connection string and goes on.
		return value{}, false
	}
	return value{start: i, end: j}, true
}

// typeAnnotationEnd returns the index of the '=' ending a type annotation that
// starts at t[i] (str =, String =, &'static str =, Option<String> =,
// string[] =), or 0 when there is none: the type starts with a letter, '&' or
// '[' and holds a letter, and the '=' stands between spaces (a base64 value
// ending in '=' is no type).
func typeAnnotationEnd(t string, i int) int {
	if i >= len(t) || !(isAlnum(t[i]) && !(t[i] >= '0' && t[i] <= '9') || t[i] == '&' || t[i] == '[') {
		return 0
	}
	letter := false
	for k := i; k < len(t) && k-i < 48; k++ {
		c := t[k]
		switch {
		case isAlnum(c):
			letter = letter || !(c >= '0' && c <= '9')
		case c == '=':
			if !letter || !isSpace(t[k-1]) || k+1 >= len(t) || !isSpace(t[k+1]) {
				return 0
			}
			return k
		case strings.IndexByte("_&<>[]?.,:' *|", c) < 0:
			return 0
		}
	}
	return 0
}

// separatingComma reports whether the comma at t[j] separates items. One
// followed by punctuation that does not open or close anything (A,.:-¨@*) is
// part of the value; one followed by a space, a word, a quote or a bracket
// separates.
func separatingComma(t string, j int) bool {
	return j+1 >= len(t) || strings.IndexByte(".:-@*!?#%^~+/|", t[j+1]) < 0
}

// stringPrefixLen returns the length of a string literal's prefix at t[i]
// when a quote follows it: @"…" (Objective-C, C#), $"…" and $@"…" (C#),
// b'…', r"…", f"…", rb'…' (Python), u8"…", L"…", R"(…)" (C++). It returns 0
// when there is none.
func stringPrefixLen(t string, i int) int {
	for k := 1; k <= 2 && i+k < len(t); k++ {
		if strings.IndexByte("bBrRuUfFL8@$", t[i+k-1]) < 0 {
			return 0
		}
		if c := t[i+k]; c == '"' || c == '\'' || c == '`' {
			return k
		}
	}
	return 0
}

// quotedAt returns the contents of the quoted string starting at t[q], on one line.
func quotedAt(t string, q int) (vs, ve int, ok bool) {
	quote := t[q]
	for j := q + 1; j < len(t) && j-q < 512; j++ {
		switch t[j] {
		case '\\':
			j++
		case '\n':
			return 0, 0, false
		case quote:
			return q + 1, j, true
		}
	}
	return 0, 0, false
}

// valueBefore parses `"value" <cmp> NAME` backwards from is (NAME's start).
func valueBefore(t string, is int, l lang) (vs, ve int, ok bool) {
	i := is
	for i > 0 && isSpace(t[i-1]) {
		i--
	}
	opEnd := i
	for i > 0 && (t[i-1] == '=' || t[i-1] == '!') && opEnd-i < 3 {
		i--
	}
	if op := t[i:opEnd]; op != "==" && op != "!=" && op != "===" && op != "!==" {
		return 0, 0, false
	}
	for i > 0 && isSpace(t[i-1]) {
		i--
	}
	if i == 0 {
		return 0, 0, false
	}
	quote := t[i-1]
	if quote != '"' && quote != '\'' && quote != '`' || (l.fam == famCode && strings.IndexByte(l.quotes, quote) < 0) {
		return 0, 0, false
	}
	end := i - 1
	for j := end - 1; j >= 0 && end-j < 512; j-- {
		if t[j] == '\n' {
			return 0, 0, false
		}
		if t[j] == quote && (j == 0 || t[j-1] != '\\') {
			return j + 1, end, true
		}
	}
	return 0, 0, false
}

// likelySecret judges a value assigned to a secret-looking name.
func likelySecret(v string, quoted, strong, inQuery bool) bool {
	if inQuery {
		if i := strings.IndexByte(v, '&'); i >= 0 {
			v = v[:i]
		}
	}
	if len(v) < 6 || len(v) > 512 {
		return false
	}
	if periodic(v) {
		// Before the counts below: keywords back to back (pwd=pwd=pwd=…)
		// make every hit judge a long periodic value.
		return false
	}
	var letters, digits, upper, spaces, other int
	var counts [256]int
	maxCount := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		counts[c]++
		maxCount = max(maxCount, counts[c])
		switch {
		case c >= 'a' && c <= 'z':
			letters++
		case c >= 'A' && c <= 'Z':
			letters++
			upper++
		case c >= '0' && c <= '9':
			digits++
		case c == ' ':
			spaces++
		default:
			other++
		}
	}
	if letters+digits == 0 || 2*maxCount > len(v) {
		return false
	}
	var lowBuf [512]byte
	lv := lowerASCII(lowBuf[:0], v) // once: each check below reads it
	if isTemplateOrReference(v, lv) || hasPlaceholderWord(lv) {
		return false
	}
	if digits == len(v) && len(v) < 8 {
		return false
	}
	if other > 0 && digits+strings.Count(v, ".") == len(v) {
		return false // an OID or a version (2.5.29.16, 1.2.3)
	}
	if strings.Count(v, " ") >= 5 {
		return false // a sentence: a message about a secret, not one
	}
	if !strong && uuidLike(v) {
		return false // an identifier more often than a credential
	}
	if !quoted && snakeOrKebabName(v) && digits == 0 {
		return false
	}
	if !quoted {
		// Judge an unquoted value without the closing brackets of the
		// expression around it: f(authkey=None) is a reference to None.
		if core := strings.TrimRight(v, ")]}:,"); core != v && len(core) > 0 {
			if identLike(core) && !hasDigit(core) {
				return false
			}
		}
		if identLike(v) && (digits == 0 || camelCase(v)) {
			return false // a variable or attribute reference
		}
		if codeLike(v) {
			return false
		}
	} else if snakeOrKebabName(v) || shortPhrase(v) || pathLike(v) || concatenation(v) || strings.HasSuffix(strings.TrimRight(v, " "), ":") {
		return false // a name (env var, header, key name), a label or a prompt ("npm password: "), not a value
	}
	switch lv {
	case "password", "passwd", "secret", "token", "changeme", "letmein", "username", "credential", "credentials":
		return false
	}
	if periodic(lv) {
		return false // a fixture: abcd1234abcd1234ABCD1234…, 1234567890abcdef×3
	}
	if !strong {
		// token, credential: demand a long, random-looking value.
		if wordy(v) || dateLike(v) {
			return false
		}
		classes := 0
		for _, n := range []int{letters - upper, upper, digits, other} {
			if n > 0 {
				classes++
			}
		}
		for i := 0; i < len(v); i++ {
			if c := v[i]; !(isAlnum(c) || strings.IndexByte("_-.+/=~%:", c) >= 0) {
				return false // tokens are base64, hex or URL-safe text
			}
		}
		return len(v) >= 16 && classes >= 2 && entropy(v) >= 3.0
	}
	return true
}

func identLike(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(isAlnum(c) || c == '_' || c == '$' || (c == '.' && i > 0 && i < len(v)-1)) {
			return false
		}
	}
	c := v[0]
	return !(c >= '0' && c <= '9')
}

// codeLike reports whether an unquoted value is an expression: it starts with
// an operator or bracket, is a hex literal, or is a name of two or more
// characters followed by a call, index or composite literal.
func codeLike(v string) bool {
	if strings.IndexByte("[](){}*&!+-/<>^|.:", v[0]) >= 0 {
		return true
	}
	if len(v) > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X') {
		return true
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '(' || c == '[' {
			return i >= 1
		}
		if c == '{' {
			return i >= 2
		}
		if !(isAlnum(c) || c == '_' || c == '$' || c == '.') {
			return false
		}
	}
	return false
}

// camelCase reports whether v looks like a lowerCamelCase identifier
// (testRSA2048PrivateKey): it starts lower-case and has an upper-case letter
// followed by a lower-case one.
func camelCase(v string) bool {
	if !(v[0] >= 'a' && v[0] <= 'z') {
		return false
	}
	for i := 1; i+1 < len(v); i++ {
		if v[i] >= 'A' && v[i] <= 'Z' && v[i+1] >= 'a' && v[i+1] <= 'z' {
			return true
		}
	}
	return false
}

// shortPhrase reports whether v is two to four words: a label or a message
// ("master secret", "can't tell", "SM2 PRIVATE KEY"), not a credential. A word
// is letters (with ' and -), or upper-case letters and digits (an acronym:
// SM2, PKCS12).
func shortPhrase(v string) bool {
	words := strings.Fields(v)
	if len(words) < 2 || len(words) > 4 {
		return false
	}
	for _, w := range words {
		word, acronym := true, true
		for i := 0; i < len(w); i++ {
			c := w[i]
			word = word && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '\'' || c == '-')
			acronym = acronym && (c >= 'A' && c <= 'Z' || c >= '0' && c <= '9')
		}
		if !word && !acronym {
			return false
		}
	}
	return !strings.ContainsAny(v, "\t\r\n\v\f") // words separated by spaces
}

func dateLike(v string) bool {
	return len(v) >= 10 && v[4] == '-' && v[7] == '-' && strings.Trim(v[:4]+v[5:7]+v[8:10], "0123456789") == ""
}

func snakeOrKebabName(v string) bool {
	sep := 0
	lower, upperC := 0, 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '_' || c == '-':
			if i == 0 || i == len(v)-1 || v[i-1] == '_' || v[i-1] == '-' {
				return false
			}
			sep++
		case c >= 'a' && c <= 'z':
			lower++
		case c >= 'A' && c <= 'Z':
			upperC++
		case c >= '0' && c <= '9':
		default:
			return false
		}
	}
	if sep == 0 {
		return false
	}
	// lower_snake, UPPER_SNAKE or Header-Case words: names, not values.
	return lower == 0 || upperC == 0 || upperC == sep+1
}

// isTemplateOrReference judges v, whose ASCII-lower-cased form is lv.
func isTemplateOrReference(v, lv string) bool {
	for _, p := range [...]string{"${", "{{", "<%", "#{", "%(", "%s", "$(", "process.env", "os.environ", "os.getenv", "env.", "env[", "getenv(", "secrets.", "vault:", "arn:aws:"} {
		if strings.HasPrefix(lv, p) {
			return true
		}
	}
	if v[0] == '$' && identLike(v[1:]+"x") {
		return true
	}
	if v[0] == '<' && v[len(v)-1] == '>' {
		return true
	}
	return v[0] == '%' && v[len(v)-1] == '%'
}

// placeholderWords are the words that mark a value as an example, not a secret.
var placeholderWords = [...]string{"example", "fake", "dummy", "changeme", "change_me", "change-me", "placeholder", "your_", "your-", "your ", "yourpass", "redacted", "insert", "xxxx", "****", "sample", "<your", "replace_", "replaceme", "notreal", "not_real", "todo"}

// placeholderAC finds every placeholder word in one pass: a value is judged
// for each keyword hit, so 21 substring searches per value were the scanner's
// cost on text dense with keywords.
var placeholderAC = sync.OnceValue(func() *acMatcher { return newACMatcher(placeholderWords[:]) })

// hasPlaceholderWord reports whether lv (lower-cased) holds a placeholder word.
func hasPlaceholderWord(lv string) bool {
	found := false
	placeholderAC().scan(lv, func(int, int) { found = true })
	return found
}

// periodic reports whether lv (lower-cased, for a match whatever the case)
// starts with a short unit repeated
// at least three times that covers two thirds of it or more
// (abcd1234abcd1234abcd1234…extra, 1234567890abcdef×3): test fixtures and
// example values. Random credentials never repeat; a provider key that is a
// fixture (softlayer's abcd1234×8) is still found by its provider's rule.
// Each period stops at its first mismatch, so random values cost about one
// comparison per period.
func periodic(lv string) bool {
	for p := 1; p <= 16 && 3*p <= len(lv); p++ {
		i := 0
		for i+p < len(lv) && lv[i] == lv[i+p] {
			i++
		}
		if span := i + p; span >= 3*p && 3*span >= 2*len(lv) {
			return true
		}
	}
	return false
}

func uuidLike(v string) bool {
	if len(v) != 36 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
			continue
		}
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// pathLike reports whether v is a file-system path ("pwd": "/home/x/project").
func pathLike(v string) bool {
	if strings.ContainsAny(v, " \t") {
		return false
	}
	return strings.HasPrefix(v, "/") || strings.HasPrefix(v, "./") || strings.HasPrefix(v, "~/") ||
		(len(v) > 3 && v[1] == ':' && v[2] == '\\')
}

func hasDigit(v string) bool { return strings.ContainsAny(v, "0123456789") }

// concatenation reports whether a "quoted value" is really the code between two
// string literals ("password: " + pw + "…"), found by pairing the wrong quotes.
func concatenation(v string) bool {
	t := strings.TrimSpace(v)
	return t != "" && (t[0] == '+' || t[len(t)-1] == '+' || t[len(t)-1] == ',' || strings.HasPrefix(t, ". ") || strings.HasSuffix(t, " ."))
}

// lowerASCII appends s with ASCII letters lower-cased to dst and returns it as a
// string. Unlike strings.ToLower it costs one pass whatever the bytes (invalid
// UTF-8 made ToLower, called per check, the scanner's hot spot); the words it is
// compared with are ASCII.
func lowerASCII(dst []byte, s string) string {
	for i := 0; i < len(s); i++ {
		dst = append(dst, foldTable[s[i]])
	}
	return string(dst)
}
