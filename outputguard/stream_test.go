package outputguard

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/guardtest"
)

// streamAll feeds text to a Stream in chunks of the given sizes (cycled) and
// returns the released text.
func streamAll(t testing.TB, s *Stream, text string, sizes []int) (string, error) {
	t.Helper()
	var b strings.Builder
	for i := 0; text != ""; i++ {
		n := min(sizes[i%len(sizes)], len(text))
		out, err := s.Write(text[:n])
		b.WriteString(out)
		if err != nil {
			return b.String(), err
		}
		text = text[n:]
	}
	out, err := s.Close()
	b.WriteString(out)
	return b.String(), err
}

func TestStreamRedactsAcrossChunks(t *testing.T) {
	pii := mustPII(t, PIIConfig{Action: ActionRedact})
	text := "Your card 4111 1111 1111 1111 is on file; mail bob@example.org or call +14155552671. " +
		strings.Repeat("Filler words to push text past the hold-back window. ", 10) + "IBAN GB82 WEST 1234 5698 7654 32 end."
	want := verdictFor(text, "pii", pii.Scan(text)).Text
	for _, sizes := range [][]int{{1}, {2}, {3}, {7}, {64}, {1000}, {5, 1, 13, 2}} {
		s, err := NewStream(StreamConfig{Scanners: []Scanner{pii}, HoldBack: 64})
		if err != nil {
			t.Fatal(err)
		}
		got, err := streamAll(t, s, text, sizes)
		if err != nil {
			t.Fatalf("sizes %v: %v", sizes, err)
		}
		if got != want {
			t.Fatalf("sizes %v:\n got %q\nwant %q", sizes, got, want)
		}
		if v := s.Verdict(); v.Action != guard.Rewrite || len(v.Categories) != 4 {
			t.Fatalf("verdict %+v", v)
		}
	}
}

func TestStreamBlocksSplitSecretAndCanary(t *testing.T) {
	sec := mustSecrets(t, SecretsConfig{})
	leak := mustLeak(t, PromptLeakConfig{SystemPrompt: testSystemPrompt, Canaries: []string{testCanary}})
	for name, text := range map[string]string{
		"aws key":        "Sure, the key is " + fakeAWS + " and that is all.",
		"canary":         "Debug info: " + testCanary + ". Done.",
		"spaced canary":  "Debug info: c-n-r-y 5 f 2 a 9 c 1 e 7 b. Done.",
		"system prompt":  "OK. " + testSystemPrompt,
		"private key":    "Key:\n" + fakePEM,
		"secret at end":  "the key is " + fakeAWS,
		"canary at head": testCanary + " is the token",
	} {
		for _, size := range []int{1, 3, 7, 50} {
			s, err := NewStream(StreamConfig{Scanners: []Scanner{sec, leak}})
			if err != nil {
				t.Fatal(err)
			}
			got, err := streamAll(t, s, text, []int{size})
			if !errors.Is(err, guard.ErrDenied) {
				t.Fatalf("%s/%d: err = %v, released %q", name, size, err, got)
			}
			for _, bad := range []string{fakeAWS[4:], testCanary[5:], "5 f 2 a 9", "Billing Assistant for Acme Corp. Answer only", "MIIBOg"} {
				if strings.Contains(got, bad) {
					t.Fatalf("%s/%d: released %q", name, size, got)
				}
			}
			if _, err := s.Write("more"); !errors.Is(err, guard.ErrDenied) {
				t.Fatal("a blocked stream accepted more text")
			}
		}
	}
}

func TestStreamSessionValues(t *testing.T) {
	long := strings.Repeat("k", 300) // longer than the default hold-back
	sec := mustSecrets(t, SecretsConfig{Action: ActionRedact}).WithValues(guard.NewSecret("tok", long))
	s, err := NewStream(StreamConfig{Scanners: []Scanner{sec}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := streamAll(t, s, "value: "+long+" end", []int{5})
	if err != nil || got != "value: [REDACTED:tok] end" {
		t.Fatalf("%q %v", got, err)
	}
}

// A match longer than the hold-back that must be rewritten (not blocked) cannot
// be: its start was already released. The stream blocks instead.
func TestStreamLateMatchBlocks(t *testing.T) {
	long := ScannerFunc(func(text string) []Finding {
		i := strings.Index(text, "BEGIN")
		if i < 0 {
			return nil
		}
		j := strings.Index(text[i:], "END")
		if j < 0 {
			return nil
		}
		return []Finding{{Start: i, End: i + j + 3, Category: "long", Action: ActionRedact, Replacement: "[x]"}}
	})
	s, err := NewStream(StreamConfig{Scanners: []Scanner{long}, HoldBack: 16})
	if err != nil {
		t.Fatal(err)
	}
	_, err = streamAll(t, s, "Here: BEGIN abcdefghijklmnopq END.", []int{4})
	var d *guard.DenialError
	if !errors.As(err, &d) || d.Rule != "output.stream.late" {
		t.Fatalf("err = %v", err)
	}
}

// A small hold-back is raised to what the scanners need, so a leak of the
// system prompt is still seen whole.
func TestStreamHoldBackRaised(t *testing.T) {
	leak := mustLeak(t, PromptLeakConfig{SystemPrompt: testSystemPrompt, Action: ActionRedact})
	s, err := NewStream(StreamConfig{Scanners: []Scanner{leak}, HoldBack: 16})
	if err != nil {
		t.Fatal(err)
	}
	got, err := streamAll(t, s, "Here: "+testSystemPrompt, []int{4})
	if err != nil || strings.Contains(got, "Billing Assistant for Acme") {
		t.Fatalf("%q %v", got, err)
	}
}

func TestStreamUTF8(t *testing.T) {
	pii := mustPII(t, PIIConfig{Action: ActionRedact})
	text := strings.Repeat("héllo wörld ✓ 日本語 ", 30) + "mail zoë@example.com"
	s, _ := NewStream(StreamConfig{Scanners: []Scanner{pii}, HoldBack: 8})
	var parts []string
	for rest := text; rest != ""; {
		n := min(3, len(rest))
		out, err := s.Write(rest[:n])
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, out)
		rest = rest[n:]
	}
	out, _ := s.Close()
	parts = append(parts, out)
	joined := strings.Join(parts, "")
	if joined != verdictFor(text, "pii", pii.Scan(text)).Text && joined != text {
		t.Fatalf("got %q", joined)
	}
}

func TestNewStreamErrors(t *testing.T) {
	if _, err := NewStream(StreamConfig{}); !errors.Is(err, guard.ErrNilPolicy) {
		t.Error("no scanners accepted")
	}
	if _, err := NewStream(StreamConfig{Scanners: []Scanner{nil}}); !errors.Is(err, guard.ErrNilPolicy) {
		t.Error("nil scanner accepted")
	}
	if _, err := NewStream(StreamConfig{Scanners: []Scanner{mustPII(t, PIIConfig{})}, HoldBack: -1}); err == nil {
		t.Error("negative hold-back accepted")
	}
	if _, err := NewChatStream(nil, StreamConfig{Scanners: []Scanner{mustPII(t, PIIConfig{})}}); err == nil {
		t.Error("nil source accepted")
	}
}

func TestStreamBrokenScanner(t *testing.T) {
	for name, sc := range map[string]Scanner{
		"panic":    ScannerFunc(func(string) []Finding { panic("x") }),
		"bad span": ScannerFunc(func(s string) []Finding { return []Finding{{Start: 0, End: len(s) + 5, Action: ActionRedact}} }),
	} {
		s, _ := NewStream(StreamConfig{Scanners: []Scanner{sc}})
		if _, err := streamAll(t, s, strings.Repeat("a", 600), []int{10}); !errors.Is(err, guard.ErrDenied) {
			t.Fatalf("%s: err = %v", name, err)
		}
	}
}

// readChat drains a ChatStream.
func readChat(t *testing.T, cs *ChatStream) (string, openai.FinishReason) {
	t.Helper()
	var b strings.Builder
	var finish openai.FinishReason
	for {
		r, err := cs.Recv()
		if errors.Is(err, io.EOF) {
			return b.String(), finish
		}
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		for _, c := range r.Choices {
			b.WriteString(c.Delta.Content)
			if c.FinishReason != "" {
				finish = c.FinishReason
			}
		}
	}
}

func TestChatStreamWithFakeServer(t *testing.T) {
	answer := "Your card 4111 1111 1111 1111 is charged monthly."
	leaking := "Sure. " + testSystemPrompt
	fake := guardtest.NewFakeOpenAI(t, guardtest.Reply{Content: answer}, guardtest.Reply{Content: leaking},
		guardtest.Reply{Content: "key " + fakeAWS + " bye"})
	oc := openai.DefaultConfig("k")
	oc.BaseURL = fake.URL
	client := openai.NewClientWithConfig(oc)
	cfg := StreamConfig{
		Scanners: []Scanner{
			mustSecrets(t, SecretsConfig{}),
			mustLeak(t, PromptLeakConfig{SystemPrompt: testSystemPrompt}),
			mustPII(t, PIIConfig{Action: ActionRedact}),
		},
		Notice: "[withheld]",
	}
	open := func() *ChatStream {
		src, err := client.CreateChatCompletionStream(context.Background(), openai.ChatCompletionRequest{Model: "m", Stream: true,
			Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}})
		if err != nil {
			t.Fatal(err)
		}
		cs, err := NewChatStream(src, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}

	cs := open()
	got, finish := readChat(t, cs)
	if got != "Your card [REDACTED:pii.card] is charged monthly." || finish != openai.FinishReasonStop || cs.Err() != nil {
		t.Fatalf("redacted stream: %q %q %v", got, finish, cs.Err())
	}
	if v := cs.Verdict(); v.Action != guard.Rewrite || v.Categories[0] != "pii.card" {
		t.Fatalf("verdict %+v", v)
	}

	for _, want := range []string{"system_prompt.verbatim", "secret.aws-access-key-id"} {
		cs = open()
		got, finish = readChat(t, cs)
		if finish != openai.FinishReasonContentFilter || !strings.HasSuffix(got, "[withheld]") {
			t.Fatalf("blocked stream: %q %q", got, finish)
		}
		if strings.Contains(got, "Billing Assistant for Acme Corp. Answer") || strings.Contains(got, fakeAWS[4:12]) {
			t.Fatalf("leaked: %q", got)
		}
		if !errors.Is(cs.Err(), guard.ErrDenied) {
			t.Fatalf("Err = %v", cs.Err())
		}
		if v := cs.Verdict(); v.Action != guard.Block || v.Categories[0] != want {
			t.Fatalf("verdict %+v", v)
		}
		if _, err := cs.Recv(); !errors.Is(err, io.EOF) {
			t.Fatalf("after block: %v", err)
		}
	}
}

// fakeSource replays chunks, then an error or io.EOF.
type fakeSource struct {
	chunks []openai.ChatCompletionStreamResponse
	err    error
	closed bool
}

func (f *fakeSource) Recv() (openai.ChatCompletionStreamResponse, error) {
	if len(f.chunks) == 0 {
		if f.err != nil {
			return openai.ChatCompletionStreamResponse{}, f.err
		}
		return openai.ChatCompletionStreamResponse{}, io.EOF
	}
	c := f.chunks[0]
	f.chunks = f.chunks[1:]
	return c, nil
}

func (f *fakeSource) Close() error { f.closed = true; return nil }

func chunk(idx int, content string, finish openai.FinishReason) openai.ChatCompletionStreamResponse {
	return openai.ChatCompletionStreamResponse{ID: "x", Choices: []openai.ChatCompletionStreamChoice{{Index: idx,
		Delta: openai.ChatCompletionStreamChoiceDelta{Content: content}, FinishReason: finish}}}
}

func TestChatStreamChoicesAndErrors(t *testing.T) {
	pii := mustPII(t, PIIConfig{Action: ActionRedact})
	// Two choices interleaved, no finish reason: flushed at EOF.
	src := &fakeSource{chunks: []openai.ChatCompletionStreamResponse{
		chunk(0, "card 4111 1111 ", ""), chunk(1, "mail bob@exa", ""), chunk(0, "1111 1111", ""), chunk(1, "mple.org", ""),
	}}
	cs, err := NewChatStream(src, StreamConfig{Scanners: []Scanner{pii}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]string{}
	for {
		r, err := cs.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range r.Choices {
			got[c.Index] += c.Delta.Content
		}
	}
	if got[0] != "card [REDACTED:pii.card]" || got[1] != "mail [REDACTED:pii.email]" || !src.closed {
		t.Fatalf("%v closed=%v", got, src.closed)
	}

	// A source error ends the stream with that error and drops held-back text.
	boom := errors.New("connection reset")
	src = &fakeSource{chunks: []openai.ChatCompletionStreamResponse{chunk(0, "card 4111 1111 1111", "")}, err: boom}
	cs, _ = NewChatStream(src, StreamConfig{Scanners: []Scanner{pii}})
	var out string
	for {
		r, err := cs.Recv()
		if err != nil {
			if !errors.Is(err, boom) {
				t.Fatalf("err = %v", err)
			}
			break
		}
		for _, c := range r.Choices {
			out += c.Delta.Content
		}
	}
	if strings.Contains(out, "4111") || !src.closed {
		t.Fatalf("released %q", out)
	}
	if _, err := cs.Recv(); !errors.Is(err, boom) {
		t.Fatalf("second Recv: %v", err)
	}
}

// Property: for matches no longer than the hold-back, streaming in any chunking
// releases exactly what filtering the whole text would.
func TestStreamMatchesBatch(t *testing.T) {
	pii := mustPII(t, PIIConfig{Action: ActionMask})
	sec := mustSecrets(t, SecretsConfig{Action: ActionRedact})
	pieces := []string{"card 4111 1111 1111 1111", " ", "a@b.example", "\n", fakeAWS, "IBAN DE89370400440532013000",
		"+44 20 7946 0958", "123-45-6789", "x", "7", "(", ")", "-", " words ", "AB 12 34 56 C", "é"}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 300; i++ {
		var b strings.Builder
		for n := rng.IntN(30); n > 0; n-- {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		text := b.String()
		scanners := []Scanner{pii, sec}
		var fs []Finding
		for _, s := range scanners {
			fs = append(fs, s.Scan(text)...)
		}
		want := text
		if len(fs) > 0 {
			want, _ = rewrite(text, fs)
		}
		s, _ := NewStream(StreamConfig{Scanners: scanners, HoldBack: 48})
		got, err := streamAll(t, s, text, []int{1 + rng.IntN(9)})
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if got != want {
			t.Fatalf("text %q\n got %q\nwant %q", text, got, want)
		}
	}
}

func TestStreamOverflowBlocks(t *testing.T) {
	sec := mustSecrets(t, SecretsConfig{Action: ActionRedact})
	s, _ := NewStream(StreamConfig{Scanners: []Scanner{sec}})
	// A private key header with no END line: the redaction keeps growing.
	if _, err := s.Write("key: -----BEGIN " + "RSA PRIVATE KEY-----\n"); err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("A", 63) + "\n"
	var err error
	var released strings.Builder
	for i := 0; i < (maxPending/len(line))+10 && err == nil; i++ {
		var out string
		out, err = s.Write(line)
		released.WriteString(out)
	}
	var d *guard.DenialError
	if !errors.As(err, &d) || d.Rule != "output.stream.overflow" || strings.Contains(released.String(), "AAAA") {
		t.Fatalf("err = %v, released %d bytes", err, released.Len())
	}
}

// blockingSource blocks in Recv until closed.
type blockingSource struct{ closed chan struct{} }

func (b *blockingSource) Recv() (openai.ChatCompletionStreamResponse, error) {
	<-b.closed
	return openai.ChatCompletionStreamResponse{}, errors.New("closed")
}
func (b *blockingSource) Close() error { close(b.closed); return nil }

func TestChatStreamCloseInterruptsRecv(t *testing.T) {
	src := &blockingSource{closed: make(chan struct{})}
	cs, err := NewChatStream(src, StreamConfig{Scanners: []Scanner{mustPII(t, PIIConfig{})}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := cs.Recv(); done <- err }()
	if err := cs.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, io.EOF) {
		t.Fatalf("Recv after Close: %v", err)
	}
}
