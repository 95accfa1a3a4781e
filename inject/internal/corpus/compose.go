package corpus

import (
	"strings"
)

// composeSkip are the corpora whose injections are not planted: encoded or
// invisible payloads, long jailbreak monologues, and families that are already
// documents with an injection inside.
var composeSkip = map[string]bool{
	"garak/encoding": true, "garak/dan": true, "garak/latentinjection": true,
	"garak/web_injection": true, "garak/goodside_tag": true, "garak/smuggling": true,
	"bipia/attacks_base64_train": true,
}

// hostCorpus reports whether benign items of corpus are documents an injection
// can be planted in: BIPIA's e-mails, tables and code, prose documentation, Go
// comments and the hand-written documents; not single sentences or UI strings.
// Module READMEs and man pages as hosts as well changed no figure measurably.
func hostCorpus(corpus string) bool {
	switch corpus {
	case "bipia/contexts_train", "hardneg/usrdoc", "hardneg/gocomments":
		return true
	}
	return strings.HasPrefix(corpus, "hand/hardneg_fam_")
}

// Compose returns indirect injections built from items: every short in-scope
// injection of a natural-language corpus (15 to 400 bytes; see composeSkip) is
// planted at a line or sentence boundary of a benign document (400 to 3,000
// bytes, see hostCorpus) of the same cross-validation fold, chosen by hash. A
// detector meets most indirect injections this way, as one instruction inside
// text that is otherwise harmless, while the datasets hold them mostly alone.
//
// fold maps a group to its cross-validation fold; the composed item keeps the
// injection's group, so it stays in its fold and its host comes from the same
// fold: no text crosses from a test fold into training. Composed items are
// marked and are meant for training only. The result is deterministic.
func Compose(items []Item, fold func(group string) int) []Item {
	hosts := map[int][]Item{}
	for _, it := range items {
		if !it.Injection && !it.HeldOut && hostCorpus(it.Corpus) && len(it.Text) >= 400 && len(it.Text) <= 3000 {
			f := fold(it.Group)
			hosts[f] = append(hosts[f], it)
		}
	}
	var out []Item
	for _, it := range items {
		if !it.Injection || it.HeldOut || it.OutOfScope != "" || it.Composed || composeSkip[it.Corpus] ||
			len(it.Text) < 15 || len(it.Text) > 400 {
			continue
		}
		hs := hosts[fold(it.Group)]
		if len(hs) == 0 {
			continue
		}
		h := Hash(it.Text)
		host := excerpt(hs[h%uint32(len(hs))].Text, h)
		out = append(out, Item{Text: plant(host, it.Text, h), Injection: true,
			Corpus: "composed/" + it.Corpus, Group: it.Group, Composed: true})
	}
	return out
}

// excerptLen is about how much host text surrounds a planted injection: a
// paragraph or two, so that the injection lies in every scoring window of the
// composed text and training cannot blame the host's own words for it.
const excerptLen = 600

// excerpt returns about excerptLen bytes of text starting at a line or sentence
// boundary chosen by h.
func excerpt(text string, h uint32) string {
	if len(text) <= excerptLen {
		return text
	}
	starts := []int{0}
	for i := 0; i+1 < len(text)-excerptLen/2; i++ {
		if text[i] == '\n' || (text[i] == '.' || text[i] == '!' || text[i] == '?') && text[i+1] == ' ' {
			starts = append(starts, i+1)
		}
	}
	s := starts[(h>>16)%uint32(len(starts))]
	e := min(s+excerptLen, len(text))
	for e < len(text) && text[e] != '\n' && text[e] != ' ' {
		e++
	}
	return strings.ToValidUTF8(text[s:e], "")
}

// plant inserts payload into host at a boundary chosen by h: after a line break
// or a sentence end, or at the start or the end.
func plant(host, payload string, h uint32) string {
	bounds := []int{0, len(host)}
	for i := 0; i+1 < len(host); i++ {
		if host[i] == '\n' || (host[i] == '.' || host[i] == '!' || host[i] == '?') && host[i+1] == ' ' {
			bounds = append(bounds, i+1)
		}
	}
	at := bounds[(h>>8)%uint32(len(bounds))]
	sep := [...]string{" ", "\n", "\n\n"}[(h>>4)%3]
	return strings.TrimSpace(host[:at]) + sep + strings.TrimSpace(payload) + sep + strings.TrimSpace(host[at:])
}
