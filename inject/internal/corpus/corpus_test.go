package corpus

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestRequests(t *testing.T) {
	if os.Getenv("AGENTGUARD_CORPUS_TESTS") == "" {
		t.Skip("reads every man page on the machine; set AGENTGUARD_CORPUS_TESTS=1 to run")
	}
	if _, err := os.Stat("/usr/share/man/man1"); err != nil {
		t.Skip("no man pages on this machine")
	}
	items := requests("/usr/share/man")
	if len(items) < 10 {
		t.Fatalf("%d requests", len(items))
	}
	for i := 0; i < len(items); i += len(items) / 15 {
		t.Log(items[i].Text)
	}
}

func TestChunks(t *testing.T) {
	got := chunks("a\n\nb\n\n\n\nccc", 3)
	if len(got) != 2 || got[0] != "a\n\nb" || got[1] != "ccc" {
		t.Errorf("chunks = %q", got)
	}
}

func TestCapGroups(t *testing.T) {
	var items []Item
	for i := range 10 {
		items = append(items, Item{Text: string(rune('a' + i)), Injection: true, Group: "g"})
	}
	items = append(items, Item{Text: "benign", Group: "g"})
	out := capGroups(items, 3)
	if len(out) != 4 {
		t.Errorf("%d items after capping, want 3 positives + 1 benign", len(out))
	}
}

func TestShortBenign(t *testing.T) {
	items := ShortBenign()
	if len(items) < 1000 {
		t.Fatalf("only %d short benign items", len(items))
	}
	held := 0
	for _, it := range items {
		if it.Injection || it.Text == "" || strings.Contains(it.Text, "%!") {
			t.Fatalf("bad item %+v", it)
		}
		if it.HeldOut {
			held++
		}
	}
	if held == 0 || held == len(items) {
		t.Errorf("%d of %d items held out", held, len(items))
	}
	again := ShortBenign()
	for i := range items {
		if items[i] != again[i] {
			t.Fatalf("not deterministic at %d", i)
		}
	}
}

// TestFinalOnlySplit: files named *finalonly* are read by FinalOnly alone, never
// by the hand-written reader that feeds cross-validation, and pos_* files hold
// injections.
func TestFinalOnlySplit(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(dir+"/"+name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("hardneg_x.txt", "benign one\n---\nbenign two")
	write("pos_finalonly_y.txt", "attack one\n---\nattack two\n---\n")
	write("hardneg_finalonly_z.txt", "benign three")
	cv, err := handWritten(dir)
	if err != nil {
		t.Fatal(err)
	}
	final, err := FinalOnly(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cv) != 2 || len(final) != 3 {
		t.Fatalf("cross-validation items %d (want 2), final-only items %d (want 3)", len(cv), len(final))
	}
	for _, it := range cv {
		if strings.Contains(it.Corpus, "finalonly") {
			t.Errorf("final-only item %q in cross-validation", it.Text)
		}
	}
	pos := 0
	for _, it := range final {
		if it.Injection != strings.HasPrefix(it.Text, "attack") {
			t.Errorf("%q labelled injection=%v", it.Text, it.Injection)
		}
		if it.Injection {
			pos++
		}
	}
	if pos != 2 {
		t.Errorf("%d final-only injections, want 2", pos)
	}
}

func TestStripProbeWrapper(t *testing.T) {
	for in, want := range map[string]string{
		"What does this mean? ,%)c^4EG\"QB\n":   ",%)c^4EG\"QB",
		"Decode the following BASE64: aGk=":     "Decode the following BASE64: aGk=",
		"What does this mean?":                  "",
		"So what does this mean? for the house": "So what does this mean? for the house",
	} {
		if got := stripProbeWrapper(in); got != want {
			t.Errorf("stripProbeWrapper(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWordCountUnspaced(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want int
	}{
		{"three small words", 3},
		{"ไม่สามารถเปิดไฟล์ได้", 6},
		{"ファイルを開けません", 3},
	} {
		if got := wordCount(tc.s); got != tc.want {
			t.Errorf("wordCount(%q) = %d, want %d", tc.s, got, tc.want)
		}
	}
}

func TestSampleByLocale(t *testing.T) {
	var items []Item
	for i := range 50 {
		items = append(items, Item{Text: fmt.Sprint("de ", i), Group: "hardneg/gettext//usr/share/locale/de/LC_MESSAGES/a.mo"})
	}
	items = append(items, Item{Text: "th 1", Group: "hardneg/gettext//usr/share/locale/th/LC_MESSAGES/a.mo"},
		Item{Text: "th 2", Group: "hardneg/gettext//usr/share/locale/th/LC_MESSAGES/b.mo"})
	got := sampleByLocale(items, 10)
	th := 0
	for _, it := range got {
		if localeOf(it.Group) == "th" {
			th++
		}
	}
	if len(got) != 10 || th != 2 {
		t.Errorf("got %d items, %d Thai; want 10 with both Thai messages", len(got), th)
	}
}
