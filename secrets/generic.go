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
// assigned to it or compared with it.
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
	if vs, ve, quoted, ok := valueAfter(t, ie); ok {
		if likelySecret(t[vs:ve], quoted, strong, urlQuery(t, is)) {
			return []Finding{{Rule: id, Start: vs, End: ve}}
		}
		return nil
	}
	if vs, ve, ok := valueBefore(t, is); ok && likelySecret(t[vs:ve], true, strong, false) {
		return []Finding{{Rule: id, Start: vs, End: ve}}
	}
	return nil
}

func urlQuery(t string, is int) bool { return is > 0 && (t[is-1] == '?' || t[is-1] == '&') }

// valueAfter parses `NAME<closing>? <op> <value>` from i (just after NAME).
func valueAfter(t string, i int) (vs, ve int, quoted, ok bool) {
	n := len(t)
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
		// C-like `password "value";`: a quoted value ending a statement.
		if !hadSpace || i >= n || (t[i] != '"' && t[i] != '\'' && t[i] != '`') {
			return 0, 0, false, false
		}
		vs, ve, ok := quotedAt(t, i)
		if !ok || ve+1 >= n || t[ve+1] != ';' {
			return 0, 0, false, false
		}
		return vs, ve, true, true
	}
	i += len(op)
	if op == ":" && i < n && t[i] == ':' { // C++ scope operator
		return 0, 0, false, false
	}
	for i < n && isSpace(t[i]) {
		i++
	}
	if i < n && t[i] == '@' && i+1 < n && (t[i+1] == '"' || t[i+1] == '\'') {
		i++
	}
	if i >= n {
		return 0, 0, false, false
	}
	switch t[i] {
	case '"', '\'', '`':
		vs, ve, ok := quotedAt(t, i)
		return vs, ve, true, ok
	case '\n', '\r':
		return 0, 0, false, false
	}
	j := i
	for j < n && j-i < 200 {
		c := t[j]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == ';' || c == '"' || c == '\'' || c == '`' || c == '&' {
			break
		}
		j++
	}
	if j == i || (j < n && t[j] == ';' && (hadSpace || (i > 0 && isSpace(t[i-1])))) {
		// Nothing, or an unquoted expression ending a statement (x = y;): in
		// languages with semicolons a literal secret is quoted. Key=Value; with
		// no spaces is a connection string and goes on.
		return 0, 0, false, false
	}
	return i, j, false, true
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
func valueBefore(t string, is int) (vs, ve int, ok bool) {
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
	if quote != '"' && quote != '\'' && quote != '`' {
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
	} else if snakeOrKebabName(v) || shortPhrase(v) || pathLike(v) || concatenation(v) {
		return false // a name (env var, header, key name) or a label, not a value
	}
	switch lv {
	case "password", "passwd", "secret", "token", "changeme", "letmein", "username", "credential", "credentials":
		return false
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

// shortPhrase reports whether v is two to four lower-case words: a label or a
// message ("master secret", "can't tell"), not a credential.
func shortPhrase(v string) bool {
	words := strings.Fields(v)
	if len(words) < 2 || len(words) > 4 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == ' ' || c == '\'' || c == '-') {
			return false
		}
	}
	return true
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
var placeholderWords = [...]string{"example", "fake", "dummy", "changeme", "change_me", "change-me", "placeholder", "your_", "your-", "yourpass", "redacted", "insert", "xxxx", "****", "sample", "<your", "replace_", "replaceme", "notreal", "not_real", "todo"}

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
