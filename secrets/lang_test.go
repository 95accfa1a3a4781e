package secrets

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/internal/lineartest"
)

func TestLangOf(t *testing.T) {
	for _, c := range []struct {
		name   string
		fam    family
		quotes string
	}{
		{"", famAny, ""},
		{"README", famAny, ""},
		{"main.go", famAny, ""},
		{"notes.md", famAny, ""},
		{"data.json", famAny, ""},
		{"config.yaml", famConfig, ""},
		{"/etc/app/app.YML", famConfig, ""},
		{`C:\app\settings.ini`, famConfig, ""},
		{"app.properties", famConfig, ""},
		{".env", famConfig, ""},
		{"deploy/.env.production", famConfig, ""},
		{"x.conf", famConfig, ""},
		{"main.c", famCode, doubleQuote},
		{"View.m", famCode, doubleQuote},
		{"App.java", famCode, doubleQuote},
		{"Program.cs", famCode, doubleQuote},
		{"lib.rs", famCode, doubleQuote},
		{"Account.cls", famCode, anyQuote},
		{"app.py", famCode, anyQuote},
		{"index.ts", famCode, anyQuote},
		{"run.sh", famAny, ""},
		{"Makefile", famAny, ""},
		{"main.tf", famCode, anyQuote},
		{"script.PHP", famCode, anyQuote},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := langOf(c.name)
			if l.fam != c.fam || l.quotes != c.quotes {
				t.Errorf("langOf(%q) = %+v, want family %d quotes %q", c.name, l, c.fam, c.quotes)
			}
		})
	}
}

// keyValue is an arbitrary password: not a placeholder, not random enough for
// the high-entropy rule on its own, so only the keyword rules can find it.
const keyValue = "m{{h}o)p${e]nob(ody[finds>-_$#thisone}}"

// ScanFile reads the generic keyword rules by the file's language.
func TestScanFileLanguages(t *testing.T) {
	s := newTestScanner(t)
	pw := "Tr0ub4dor" + rnd(alnum, 6)
	for _, c := range []struct {
		name, file, text string
		want             bool
	}{
		// Objective-C and C: "…" and @"…" are strings, '…' and bare words are not.
		{"objc double quotes", "a.m", `password = @"` + keyValue + `";`, true},
		{"objc array", "a.m", `char secrete[25] = "` + keyValue + `";`, true},
		{"objc comparison", "a.m", `if (db_pass != "` + keyValue + `")`, true},
		{"objc reverse comparison", "a.m", `if ("` + keyValue + `" == password)`, true},
		{"objc single quotes", "a.m", `api_key = '` + keyValue + `';`, false},
		{"objc at single quotes", "a.m", `aws_secret_access_key = @'` + keyValue + `';`, false},
		{"objc bare", "a.m", `passwd = ` + keyValue + `;`, false},
		{"objc reverse single quotes", "a.m", `if ('` + keyValue + `' == password)`, false},
		{"c char literal before", "a.c", `if (c == '"') password = "` + pw + `";`, true},
		{"c char literal quote", "a.c", `char q = '"'; char *p = password_of(q);`, false},
		{"cpp wide string", "a.cpp", `const wchar_t *password = L"` + pw + `";`, true},
		{"csharp verbatim", "a.cs", `var password = @"` + pw + `";`, true},
		{"csharp interpolated", "a.cs", `var password = $"{prefix}{suffix}x";`, false},
		{"java in string literal", "A.java", `String url = "jdbc:sqlserver://db;user=sa;password=` + pw + `;";`, true},
		{"java line comment", "A.java", `// default password: ` + pw, true},
		{"java block comment", "A.java", "/*\n * admin password = " + pw + "\n */\nclass A {}", true},
		{"java after block comment", "A.java", "/* notes */ password = getPassword(" + pw + ");", false},
		{"java call", "A.java", `password = readPassword();`, false},
		{"c define", "a.c", `#define DB_PASSWORD "` + pw + `"`, true},
		{"c define indented", "a.h", "  #  define API_KEY L\"" + pw + "\"\n", true},
		{"c define not at line start", "a.c", `x #define API_KEY "` + pw + `"`, false},
		{"c define number", "a.c", `#define PASSWORD_LEN 64`, false},
		{"c define reference", "a.c", `#define PASSWORD DEFAULT_PASSWORD`, false},
		{"c define key suffix", "a.c", `#define AWS_SECRET_KEY "` + pw + `"`, true},
		{"c define label", "a.h", `#define PEM_STRING_SM2PRIVATEKEY "SM2 PRIVATE KEY"`, false},
		{"c define keyword inside", "a.h", `#define TLS_MD_MASTER_SECRET_CONST "` + pw + `"`, false},
		{"c define oid", "a.h", `#define OID_PRIVATE_KEY "2.5.29.16"`, false},
		{"c define echo", "a.h", `#define LN_pkcs9_challengePassword "challengePassword"`, false},
		{"python name echo", "a.py", `CHALLENGE_PASSWORD = "challengePassword"`, false},
		{"python name echo reverse", "a.py", `if "client-secret" == client_secret:`, false},
		{"python name prefix", "a.py", `CHALLENGE_PASSWORD = "challengePassword1"`, true},
		{"rust const", "a.rs", `const API_KEY: &str = "` + pw + `";`, true},
		{"rust static lifetime", "a.rs", `static PASSWORD: &'static str = "` + pw + `";`, true},
		{"kotlin val", "A.kt", `val password: String = "` + pw + `"`, true},
		{"swift optional", "a.swift", `let password: String? = "` + pw + `"`, true},
		{"scala generic", "a.scala", `val secret: Option[String] = Some("` + pw + `")`, false},
		// Apex and scripting languages: any quote makes a string.
		{"apex single quotes", "a.cls", `aws_secret_access_key: '` + keyValue + `'`, true},
		{"apex backticks", "a.cls", "api_key: `" + keyValue + "`", true},
		{"apex bare", "a.cls", `password = ` + keyValue, false},
		{"apex arrow bare", "a.cls", `password => ` + keyValue, false},
		{"apex arrow quoted", "a.cls", `password => "` + keyValue + `"`, true},
		{"python bytes", "a.py", `PASSWORD = b'` + pw + `'`, true},
		{"python raw", "a.py", `password = r"` + pw + `"`, true},
		{"python f-string", "a.py", `password = f"{user}:{password_hash}"`, false},
		{"python bare", "a.py", `password = ` + pw, false},
		{"python comment", "a.py", `x = 1  # password: ` + pw, true},
		{"python docstring", "a.py", "def f():\n    \"\"\"Log in.\n\n    password = " + pw + "\n    \"\"\"\n", true},
		{"python after docstring", "a.py", "\"\"\"Doc.\"\"\"\npassword = " + pw + "\n", false},
		{"python single triple", "a.py", "CFG = '''\n[db]\npassword = " + pw + "\n'''\n", true},
		{"js multi-line template", "a.js", "const cfg = `\nuser=u\npassword=" + pw + "\n`;", true},
		{"java text block", "A.java", "String cfg = \"\"\"\n    password=" + pw + "\n    \"\"\";", true},
		{"c after empty strings", "a.c", "s = \"\" \"\";\npassword = " + pw + ";\n", false},
		{"python hash in string", "a.py", `tag = "#password"; password = ` + pw, false},
		{"python dict key", "a.py", `cfg = {"password": "` + pw + `"}`, true},
		{"python dict key bare", "a.py", `cfg = {"password": ` + keyValue + `}`, false},
		{"js template literal", "a.js", "const apiKey = `" + pw + "`;", true},
		{"python annotated", "a.py", `password: str = "` + pw + `"`, true},
		{"python annotated bare", "a.py", `password: str = get_password()`, false},
		{"ts annotated", "a.ts", `const apiKey: string = "` + pw + `";`, true},
		{"ts union", "a.ts", `let token: string | undefined = '` + rnd(alnum, 32) + `';`, true},
		{"ts annotated call", "a.ts", `const apiKey: string = getKey();`, false},
		{"ts arrow", "a.ts", `const check = (password: string) => "` + pw + `";`, false},
		{"js object", "a.ts", `const o = { password: "` + pw + `" };`, true},
		{"js object call", "a.ts", `const o = { password: getPw(), token: x };`, false},
		{"js url in string", "a.js", `fetch("https://h.test/login?user=u&password=` + pw + `")`, true},
		{"shell export", "a.sh", `export DB_PASSWORD='` + pw + `'`, true},
		{"shell bare", "a.sh", `DB_PASSWORD=` + pw + `; run`, true},
		{"shell reference", "a.sh", `DB_PASSWORD=$1`, false},
		{"powershell bare", "a.ps1", `$password = Get-Secret`, false},
		{"powershell quoted", "a.ps1", `$password = '` + pw + `'`, true},
		{"php define", "wp-config.php", `define( 'DB_PASSWORD', '` + pw + `' );`, true},
		{"php define placeholder", "wp-config.php", `define( 'AUTH_KEY', 'put your unique phrase here' );`, false},
		{"php define other", "wp-config.php", `define( 'DB_USER', '` + pw + `' );`, false},
		{"python setdefault", "a.py", `os.environ.setdefault("SECRET_KEY", "` + pw + `")`, true},
		{"python getter default", "a.py", `os.environ.get("SECRET_KEY", "` + pw + `")`, false},
		{"java setProperty", "A.java", `props.setProperty("mail.smtp.password", "` + pw + `");`, true},
		{"java getProperty", "A.java", `props.getProperty("mail.smtp.password", "` + pw + `");`, false},
		{"java put single quotes", "A.java", `m.put("password", '` + pw + `');`, false},
		{"js header", "a.js", `req.set('X-Api-Key', '` + pw + `')`, true},
		{"js prompt", "a.js", `const passwordPrompt = 'npm password: '`, false},
		{"js prompt 2", "a.js", `const password = "Password:"`, false},
		{"no name define", "", `define('DB_PASSWORD', '` + pw + `');`, true},
		// Configuration files: bare values count, to the next space.
		{"conf punctuation", "a.conf", `secrete = A,.:-¨@*¿?!`, true},
		{"conf punctuation only", "a.conf", `password = ,.:-¨@*¿?!`, false},
		{"yaml bare", "a.yaml", "db:\n  password: " + pw + "\n", true},
		{"properties semicolon", "a.properties", `password=` + pw + `;`, true},
		{"ini template", "a.ini", `password = ${DB_PASSWORD}`, false},
		{"env file", ".env", `API_KEY=` + pw, true},
		// Go and unknown files: as Scan.
		{"go bare", "main.go", `db_pass := ` + keyValue, true},
		{"go single quotes", "main.go", `api_key := '` + keyValue + `'`, true},
		{"no name bare", "", `password = ` + keyValue, true},
		{"no name annotated", "", `password: str = "` + pw + `"`, true},
		{"no name define", "", `#define API_KEY "` + pw + `"`, true},
		{"no name yaml equals", "", `password: ` + pw + `=`, true},
		{"no name yaml equals inside", "", `password: ` + pw + `=x`, true},
		{"yaml padded base64", "a.yaml", `token: ` + rnd(alnum, 30) + ` = `, true},
		{"unknown extension", "notes.txt", `password: ` + keyValue, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := s.ScanFile(c.file, c.text)
			if got := len(fs) > 0; got != c.want {
				t.Errorf("ScanFile(%q, %q) = %v, want secret %v", c.file, c.text, fs, c.want)
			}
		})
	}
}

// The value's span in a configuration file covers its punctuation but not a
// separator that ends the line.
func TestScanFileConfigSpan(t *testing.T) {
	s := newTestScanner(t)
	for _, c := range []struct{ file, text, want string }{
		{"a.conf", "secrete = A,.:-¨@*¿?!\n", "A,.:-¨@*¿?!"},
		{"a.yaml", "password: p4ss,w0rd;x,\n", "p4ss,w0rd;x"},
		{"a.ini", "password = s3cr3t&v4lue # comment\n", "s3cr3t&v4lue"},
		{"", "secrete := A,.:-¨@*¿?!\n", "A,.:-¨@*¿?!"},
		{"", "f(password=p4ssw0rd, user=x)\n", "p4ssw0rd"},
		{"", "f(password=p4ssw0rd,user=x)\n", "p4ssw0rd"},
	} {
		fs := s.ScanFile(c.file, c.text)
		if len(fs) != 1 || c.text[fs[0].Start:fs[0].End] != c.want {
			t.Errorf("ScanFile(%q, %q) = %v, want the value %q", c.file, c.text, fs, c.want)
		}
	}
}

// Outside the keyword rules the language changes nothing, and text of unknown
// language is scanned exactly as Scan does.
func TestScanFileSameAsScan(t *testing.T) {
	s := newTestScanner(t)
	samples := ruleSamples()
	ids := make([]string, 0, len(samples))
	for id := range samples {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		text := samples[id]
		want := s.Scan(text)
		for _, name := range []string{"", "a.txt", "a.go", "a.md", "a.json"} {
			if got := s.ScanFile(name, text); !slices.Equal(got, want) {
				t.Errorf("%s: ScanFile(%q) = %v, Scan = %v", id, name, got, want)
			}
		}
		if strings.HasPrefix(id, "generic-") {
			continue
		}
		for _, name := range []string{"a.m", "a.py", "a.yaml", "A.java", "a.cls"} {
			if got := s.ScanFile(name, text); len(got) == 0 {
				t.Errorf("%s: ScanFile(%q, %q) found nothing", id, name, text)
			}
		}
	}
}

// Adversarial tests for the exemptions: each states what an attacker would try
// and what the scanner does.
func TestExemptionsAdversarial(t *testing.T) {
	s := newTestScanner(t)
	ghp := "ghp_" + rnd(alnum, 36)
	randomKey := rnd(b64, 40)
	t.Run("provider tokens ignore the language", func(t *testing.T) {
		for _, name := range []string{"a.m", "a.c", "a.py", "a.cls"} {
			for _, text := range []string{`api_key = '` + ghp + `';`, `token = ` + ghp + `;`, `// ` + ghp} {
				if fs := s.ScanFile(name, text); len(fs) == 0 {
					t.Errorf("ScanFile(%q, %q) missed the token", name, text)
				}
			}
		}
	})
	t.Run("random tokens in single quotes in C", func(t *testing.T) {
		// '…' is no C string, but a random 40-byte token is still reported
		// by the high-entropy rule.
		if fs := s.ScanFile("a.m", `api_key = '`+randomKey+`';`); len(fs) == 0 {
			t.Error("missed a random token in single quotes")
		}
	})
	t.Run("model output is read as plain text", func(t *testing.T) {
		// An attacker who controls a tool result cannot pick a language:
		// FilterOutput and ValidateArgs read everything as Scan does.
		text := `passwd = ` + keyValue + `;`
		if len(s.ScanFile("a.m", text)) != 0 {
			t.Fatal("precondition: the Objective-C reading ignores a bare value")
		}
		v, err := s.FilterOutput(context.Background(), &guard.Output{Text: "passwd: " + keyValue})
		if err != nil || v.Action != guard.Block {
			t.Errorf("FilterOutput = %+v, %v", v, err)
		}
	})
	t.Run("appending to a provider key under its name", func(t *testing.T) {
		// A real AWS secret key with a byte appended fails the AWS format,
		// but it is random, so the generic rules still report it: naming
		// the variable after the provider buys nothing.
		for _, text := range []string{
			`aws_secret_access_key = "` + randomKey + `a"`,
			`aws_secret_access_key = "` + randomKey[:39] + `"`,
			`secret_access_key=` + rnd(hexLow, 48) + `extra`,
			`ibm-cloud-pwd = ` + rnd(urlTok, 44) + `extra`,
		} {
			if fs := s.Scan(text); len(fs) == 0 {
				t.Errorf("missed %q", text)
			}
		}
	})
	t.Run("documentation example key", func(t *testing.T) {
		// The exact AWS example key is reported by the AWS rule; its near
		// misses (one byte more or less) are not reported at all.
		ex := "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
		if fs := s.Scan(`aws_access_key = "` + ex + `"`); len(fs) != 1 || fs[0].Rule != "aws-secret-access-key" {
			t.Errorf("exact example key: %v", fs)
		}
		for _, v := range []string{ex + "a", ex[:len(ex)-1]} {
			if fs := s.Scan(`aws_access_key = "` + v + `"`); len(fs) != 0 {
				t.Errorf("near miss %q reported: %v", v, fs)
			}
		}
	})
	t.Run("documented trade-off: EXAMPLE in a token", func(t *testing.T) {
		// A token spelling EXAMPLE (or placeholder, redacted, changeme,
		// replaceme) is not reported by the high-entropy rule: an attacker
		// who can shape the text can hide a token this way, as they can
		// by splitting or encoding it. Provider formats still apply.
		tok := rnd(b64, 20) + "EXAMPLE" + rnd(b64, 13)
		if fs := s.Scan(`k = "` + tok + `"`); len(fs) != 0 {
			t.Errorf("got %v", fs)
		}
		if fs := s.Scan(`k = "sk_live_` + rnd(alnum, 10) + "EXAMPLE" + rnd(alnum, 10) + `"`); len(fs) == 0 {
			t.Error("a provider token spelling EXAMPLE was let through")
		}
	})
	t.Run("documented trade-off: periodic values", func(t *testing.T) {
		// A value made of one short unit repeated three times or more is
		// a fixture to the generic rules, even a real (weak) password.
		for _, v := range []string{"hunter2hunter2hunter2", "abcd1234abcd1234abcd1234ABCD1234ABCD1234--__extra"} {
			if fs := s.Scan(`password = "` + v + `"`); len(fs) != 0 {
				t.Errorf("%q reported: %v", v, fs)
			}
		}
		// Twice is not enough, and the fixtures' exact provider formats
		// are still reported by their providers' rules.
		for _, text := range []string{
			`password = "Passw0rdPassw0rd"`,
			`IBM-API-KEY : "abcd1234abcd1234abcd1234ABCD1234ABCD1234--__"`,
			`secret_access_key="1234567890abcdef1234567890abcdef1234567890abcdef"`,
		} {
			if fs := s.Scan(text); len(fs) == 0 {
				t.Errorf("missed %q", text)
			}
		}
	})
	t.Run("comment and string escapes in code", func(t *testing.T) {
		// Quotes and comment markers inside strings do not desynchronise
		// the reading of the rest of the line.
		for _, c := range []struct{ file, text string }{
			{"a.py", `x = "a\"b#c"; password = '` + rnd(alnum, 14) + `'`},
			{"a.js", `x = "http://h"; password = "` + rnd(alnum, 14) + `"`},
			{"a.c", `x = "/*"; password = "` + rnd(alnum, 14) + `";`},
		} {
			if fs := s.ScanFile(c.file, c.text); len(fs) == 0 {
				t.Errorf("ScanFile(%q, %q) missed the password", c.file, c.text)
			}
		}
	})
}

// Decisions about what is not a secret, pinned (see the package's
// Limitations): addresses, and URLs whose password is a placeholder word.
func TestNotSecrets(t *testing.T) {
	s := newTestScanner(t)
	for _, text := range []string{
		"133.133.133.133",
		"This line has an IP address: 133.133.133.133:8080@something else",
		"https://username:password@example.test",
	} {
		if fs := s.Scan(text); len(fs) != 0 {
			t.Errorf("Scan(%q) = %v", text, fs)
		}
	}
}

func TestPeriodic(t *testing.T) {
	for _, c := range []struct {
		v    string
		want bool
	}{
		{"abcd1234abcd1234abcd1234abcd1234abcd1234--__extra", true},
		{"1234567890abcdef1234567890abcdef1234567890abcdefextra", true},
		{"abcabcabc", true},
		{"password=password=password=", true},
		{"abab12", false},
		{"passw0rdpassw0rd", false},
		{"x" + strings.Repeat("ab", 10), false},
		{strings.ToLower(rnd(alnum, 40)), false},
		{"", false},
	} {
		if got := periodic(c.v); got != c.want {
			t.Errorf("periodic(%q) = %v, want %v", c.v, got, c.want)
		}
	}
}

// The lexer answers the same at a position whether it is asked once or after
// every position before it.
func TestCodeLexerResumable(t *testing.T) {
	text := "a = \"x//y\" // c\n/* b\n * c */ s = 'q\\'' + `t` # h\nc = '\"' + \"z\"\nd = \"\"\"x\n\\\"\"\"y\"\"\" + `\n` + \"\" + '''\n'''"
	for _, l := range []lang{langOf("a.c"), langOf("a.py"), langOf("a.php")} {
		step := &codeLexer{text: text, l: l}
		for p := 0; p <= len(text); p++ {
			got := step.at(p)
			if want := (&codeLexer{text: text, l: l}).at(p); got != want {
				t.Fatalf("%+v: at(%d) = %q stepping, %q at once", l, p, got, want)
			}
		}
	}
	l := langOf("a.c")
	for _, c := range []struct {
		text string
		at   int
		want byte
	}{
		{`x = "abc`, 6, '"'},
		{`x = "a" // abc`, 12, lexLineComment},
		{"/* a\nb */ c", 7, lexBlockComment},
		{"/* a\nb */ c", 11, lexCode},
		{`c = '"'; d`, 10, lexCode},
		{`s = "a\"b`, 9, '"'},
		{"s = \"a\nb", 8, lexCode},
		{`s = 'abc`, 8, lexCode}, // not a C string
		{"s = \"\"\"a\nb", 8, lexTriple2},
		{`s = """a""" b`, 11, lexCode},
		{`s = """a\""" b`, 12, lexTriple2},
	} {
		if got := (&codeLexer{text: c.text, l: l}).at(c.at); got != c.want {
			t.Errorf("at(%d) in %q = %q, want %q", c.at, c.text, got, c.want)
		}
	}
}

func FuzzCodeLexer(f *testing.F) {
	f.Add("a = \"x//y\" // c\n/* b */ s = 'q' # h", 3, 7)
	f.Add("'\\'\"'", 1, 4)
	f.Add("/*/", 0, 3)
	f.Fuzz(func(t *testing.T, text string, a, b int) {
		for _, name := range []string{"a.c", "a.py", "a.php"} {
			l := langOf(name)
			a, b := min(max(a, 0), len(text)), min(max(b, 0), len(text))
			if a > b {
				a, b = b, a
			}
			x := &codeLexer{text: text, l: l}
			x.at(a)
			if got, want := x.at(b), (&codeLexer{text: text, l: l}).at(b); got != want {
				t.Fatalf("%s: at(%d) after at(%d) = %q, at once %q", name, b, a, got, want)
			}
		}
	})
}

// FuzzScanFile checks ScanFile's findings as FuzzScan checks Scan's, for each
// family of languages.
func FuzzScanFile(f *testing.F) {
	f.Add("password = @\"" + keyValue + "\";")
	f.Add("x = '\"' // password: abcdefgh\npassword = 'zz'")
	f.Add("/* password=abc123 */ token = `abc`")
	f.Add("secrete = A,.:-¨@*¿?!")
	f.Add(`password = b'\'`)
	s := newTestScanner(f)
	f.Fuzz(func(t *testing.T, text string) {
		for _, name := range []string{"a.m", "a.py", "a.yaml", "a.go"} {
			prev := -1
			fs := s.ScanFile(name, text)
			if name == "a.go" && !slices.Equal(fs, s.Scan(text)) {
				t.Fatalf("ScanFile(a.go) = %v, Scan = %v for %q", fs, s.Scan(text), text)
			}
			for _, fd := range fs {
				if fd.Start < 0 || fd.End > len(text) || fd.Start >= fd.End || fd.Start < prev {
					t.Fatalf("%s: bad finding %+v in %q", name, fd, text)
				}
				prev = fd.End
			}
		}
	})
}

// TestLinearTimeScanFile runs shapes against the code lexer and the
// configuration reading: keywords back to back inside strings, comments and
// character literals.
func TestLinearTimeScanFile(t *testing.T) {
	s := newTestScanner(t)
	small, big := lineartest.Sizes()
	for _, c := range []struct{ name, file, unit string }{
		{"py-password-repeat", "a.py", "password="},
		{"py-in-string", "a.py", `"password=`},
		{"c-char-literals", "a.c", `'"'password='`},
		{"c-comments", "a.c", "/*password=*/"},
		{"conf-commas", "a.conf", "pwd=,.,.,"},
		{"js-keys", "a.js", `{"token": x, "secret": y}`},
		{"py-triple", "a.py", `"""password=`},
		{"js-template", "a.js", "`password=\\"},
		{"define-repeat", "a.c", "#define PASSWORD "},
		{"annotation-repeat", "", "password: str = "},
		{"prefix-repeat", "", `password = b'`},
		{"periodic-values", "", "password=abcabcabcabc "},
	} {
		t.Run(c.name, func(t *testing.T) {
			lineartest.Check(t, func(text string) { s.ScanFile(c.file, text) },
				lineartest.Repeat(c.unit, small), lineartest.Repeat(c.unit, big))
		})
	}
}

// A private key block whose material is a placeholder is documentation; any
// other block, or a header alone, is reported.
func TestPrivateKeyPlaceholder(t *testing.T) {
	s := newTestScanner(t)
	begin, end := "-----BEGIN PRIVATE "+"KEY-----", "-----END PRIVATE "+"KEY-----"
	for _, c := range []struct {
		name, text string
		want       bool
	}{
		{"xxxx lines", begin + "\nXXXX\nXXXX\n" + end, false},
		{"escaped newlines", `key = "` + begin + `\nXXXX\nXXXX\n` + end + `"`, false},
		{"man page escapes", begin + `\[rs]nXXXX\[rs]n` + end, false},
		{"ellipsis", begin + "\n...\n" + end, false},
		{"your key here", begin + "\n<your private key here>\n" + end, false},
		{"real material", begin + "\n" + rnd(b64, 64) + "\n" + rnd(b64, 64) + "\n" + end, true},
		{"long material with a word", begin + "\n" + rnd(b64, 200) + "todo" + rnd(b64, 200) + "\n" + end, true},
		{"empty material", begin + "\n" + end, true},
		{"header alone", begin + "\nXXXX", true},
		{"placeholder then real", begin + "\nXXXX\n" + end + "\n" + begin + "\n" + rnd(b64, 64) + "\n" + end, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := len(s.Scan(c.text)) > 0; got != c.want {
				t.Errorf("Scan(%.80q) found %v, want %v", c.text, s.Scan(c.text), c.want)
			}
		})
	}
}
