package outputguard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/agentguard/agentguard/guard"
)

// Category is a Llama Guard hazard category: its code (as the model answers it,
// "S1"), its name ("Violent Crimes.") and an optional description rendered under
// the name.
type Category struct {
	Code        string
	Name        string
	Description string
}

// LlamaGuard3Categories returns the fourteen Llama Guard 3 categories (the
// MLCommons hazard taxonomy), in a fresh slice.
func LlamaGuard3Categories() []Category {
	return []Category{
		{Code: "S1", Name: "Violent Crimes."},
		{Code: "S2", Name: "Non-Violent Crimes."},
		{Code: "S3", Name: "Sex Crimes."},
		{Code: "S4", Name: "Child Exploitation."},
		{Code: "S5", Name: "Defamation."},
		{Code: "S6", Name: "Specialized Advice."},
		{Code: "S7", Name: "Privacy."},
		{Code: "S8", Name: "Intellectual Property."},
		{Code: "S9", Name: "Indiscriminate Weapons."},
		{Code: "S10", Name: "Hate."},
		{Code: "S11", Name: "Self-Harm."},
		{Code: "S12", Name: "Sexual Content."},
		{Code: "S13", Name: "Elections."},
		{Code: "S14", Name: "Code Interpreter Abuse."},
	}
}

// Role is the side of a conversation a turn comes from.
type Role uint8

const (
	// RoleAgent is the agent's (the model's) turn. The zero value.
	RoleAgent Role = iota
	// RoleUser is the user's turn.
	RoleUser
)

func (r Role) String() string {
	if r == RoleUser {
		return "User"
	}
	return "Agent"
}

// Turn is one message of the conversation Llama Guard judges.
type Turn struct {
	Role    Role
	Content string
}

// Transport says how the Llama Guard prompt reaches the model.
type Transport uint8

const (
	// TransportChat (the default) sends the conversation to /chat/completions and
	// lets the server's chat template render the Llama Guard prompt: what vLLM,
	// Ollama and hosted APIs serve for a Llama Guard model. A category subset is
	// passed as the chat template argument "excluded_category_keys" (honoured by
	// the Hugging Face template; a server that judges every category anyway may
	// name an excluded one, which is then ignored). Custom categories are refused
	// with this transport.
	TransportChat Transport = iota
	// TransportCompletion renders the Llama Guard 3 prompt here ([LlamaGuard.Prompt],
	// special tokens included) and sends it to /completions (vLLM, Ollama,
	// llama.cpp, TGI), so the category subset and custom categories are in the
	// prompt exactly as configured.
	TransportCompletion
)

// DefaultLlamaGuardTimeout bounds one Llama Guard request when the
// configuration leaves Timeout zero.
const DefaultLlamaGuardTimeout = 10 * time.Second

// maxResponseBody bounds the HTTP response read from the endpoint.
const maxResponseBody = 1 << 20

// LlamaGuardConfig configures [NewLlamaGuard]. BaseURL and Model are required.
type LlamaGuardConfig struct {
	// BaseURL is the OpenAI-compatible API root, for example
	// "http://localhost:8000/v1" (vLLM) or "http://localhost:11434/v1" (Ollama).
	BaseURL string
	// Model is the served model name, for example "meta-llama/Llama-Guard-3-8B"
	// or "llama-guard3:1b".
	Model string
	// APIKey is sent as a bearer token when set.
	APIKey guard.Secret
	// HTTPClient is used for requests; nil means a client with no timeout of its
	// own (Timeout bounds each request).
	HTTPClient *http.Client
	// Categories are the codes of the standard categories to check ("S1".."S14").
	// Nil or empty means all fourteen.
	Categories []string
	// Custom are further categories, rendered after the standard ones. Their
	// codes must be new (for example "S15").
	Custom []Category
	// Judge is the turn whose safety is assessed by FilterOutput: the agent's
	// (the zero value, for outputs) or the user's (to screen input).
	Judge Role
	// Transport selects the endpoint; the zero value is [TransportChat].
	Transport Transport
	// Timeout bounds one request. Zero means [DefaultLlamaGuardTimeout].
	Timeout time.Duration
}

// LlamaGuard judges text with a Llama Guard 3 model served behind any
// OpenAI-compatible endpoint. Its reply is parsed strictly ([ParseReply]); an
// unsafe verdict blocks with the violated categories, and every failure — an
// unparseable reply, a timeout, an HTTP error — blocks too (fail closed). It is a
// [guard.OutputFilter]. Create it with [NewLlamaGuard].
type LlamaGuard struct {
	client    *openai.Client
	model     string
	cats      []Category // rendered in the prompt
	known     []string   // codes the reply may name
	excluded  []string   // standard codes not checked (chat transport)
	judge     Role
	transport Transport
	timeout   time.Duration
}

var _ guard.OutputFilter = (*LlamaGuard)(nil)

// NewLlamaGuard returns a Llama Guard filter for cfg.
func NewLlamaGuard(cfg LlamaGuardConfig) (*LlamaGuard, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("outputguard: llama guard: base URL %q must be an absolute http(s) URL", cfg.BaseURL)
	}
	if strings.TrimSpace(cfg.Model) == "" {
		return nil, errors.New("outputguard: llama guard: model is required")
	}
	if cfg.Judge > RoleUser {
		return nil, fmt.Errorf("outputguard: llama guard: invalid judge role %d", cfg.Judge)
	}
	if cfg.Transport > TransportCompletion {
		return nil, fmt.Errorf("outputguard: llama guard: invalid transport %d", cfg.Transport)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("outputguard: llama guard: negative timeout %v", cfg.Timeout)
	}
	lg := &LlamaGuard{model: cfg.Model, judge: cfg.Judge, transport: cfg.Transport, timeout: cfg.Timeout}
	if lg.timeout == 0 {
		lg.timeout = DefaultLlamaGuardTimeout
	}
	std := LlamaGuard3Categories()
	if len(cfg.Categories) == 0 {
		lg.cats = std
	} else {
		for _, code := range cfg.Categories {
			i := slices.IndexFunc(std, func(c Category) bool { return c.Code == code })
			if i < 0 {
				return nil, fmt.Errorf("outputguard: llama guard: unknown category %q (want S1..S14)", code)
			}
			if slices.ContainsFunc(lg.cats, func(c Category) bool { return c.Code == code }) {
				return nil, fmt.Errorf("outputguard: llama guard: duplicate category %q", code)
			}
			lg.cats = append(lg.cats, std[i])
		}
		slices.SortFunc(lg.cats, func(a, b Category) int {
			return slices.IndexFunc(std, func(c Category) bool { return c.Code == a.Code }) -
				slices.IndexFunc(std, func(c Category) bool { return c.Code == b.Code })
		})
		for _, c := range std {
			if !slices.ContainsFunc(lg.cats, func(x Category) bool { return x.Code == c.Code }) {
				lg.excluded = append(lg.excluded, c.Code)
			}
		}
	}
	if len(cfg.Custom) > 0 && cfg.Transport == TransportChat {
		return nil, errors.New("outputguard: llama guard: custom categories need TransportCompletion (the server's chat template renders only the standard ones)")
	}
	for _, c := range cfg.Custom {
		if err := validCategory(c); err != nil {
			return nil, err
		}
		if slices.ContainsFunc(std, func(x Category) bool { return x.Code == c.Code }) ||
			slices.ContainsFunc(lg.cats, func(x Category) bool { return x.Code == c.Code }) {
			return nil, fmt.Errorf("outputguard: llama guard: custom category code %q is already used", c.Code)
		}
		lg.cats = append(lg.cats, c)
	}
	for _, c := range lg.cats {
		lg.known = append(lg.known, c.Code)
	}
	if cfg.Transport == TransportChat {
		// The server renders the prompt; any standard code may come back.
		lg.known = appendNew(lg.known, lg.excluded...)
	}
	oc := openai.DefaultConfig(cfg.APIKey.Reveal())
	oc.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	cp := *hc
	base := cp.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	cp.Transport = limitBody{base}
	oc.HTTPClient = &cp
	lg.client = openai.NewClientWithConfig(oc)
	return lg, nil
}

func validCategory(c Category) error {
	if c.Code == "" || len(c.Code) > 16 || strings.ContainsAny(c.Code, ", \t\r\n:") {
		return fmt.Errorf("outputguard: llama guard: invalid custom category code %q", c.Code)
	}
	if strings.TrimSpace(c.Name) == "" || strings.ContainsAny(c.Name, "\r\n") {
		return fmt.Errorf("outputguard: llama guard: custom category %q needs a one-line name", c.Code)
	}
	if strings.Contains(c.Description, "<END UNSAFE CONTENT CATEGORIES>") || strings.Contains(c.Description, "<|") {
		return fmt.Errorf("outputguard: llama guard: custom category %q description contains prompt markers", c.Code)
	}
	return nil
}

// limitBody caps response bodies so a hostile endpoint cannot exhaust memory.
type limitBody struct{ rt http.RoundTripper }

func (l limitBody) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.rt.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{r: io.LimitReader(resp.Body, maxResponseBody+1), c: resp.Body}
	return resp, nil
}

type limitedBody struct {
	r io.Reader
	c io.Closer
	n int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > maxResponseBody {
		return n, errors.New("outputguard: llama guard: response body too large")
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.c.Close() }

type userTurnKey struct{}

// WithUserTurn returns a context carrying the user message that the output
// answers; [LlamaGuard.FilterOutput] puts it before the agent's turn so the
// agent's answer is judged in context.
func WithUserTurn(ctx context.Context, text string) context.Context {
	return context.WithValue(ctx, userTurnKey{}, text)
}

// FilterOutput judges out.Text as the configured turn.
func (lg *LlamaGuard) FilterOutput(ctx context.Context, out *guard.Output) (guard.Verdict, error) {
	if out == nil {
		return blockNil("llamaguard")
	}
	var turns []Turn
	if lg.judge == RoleUser {
		turns = []Turn{{Role: RoleUser, Content: out.Text}}
	} else {
		if u, ok := ctx.Value(userTurnKey{}).(string); ok {
			turns = append(turns, Turn{Role: RoleUser, Content: u})
		}
		turns = append(turns, Turn{Role: RoleAgent, Content: out.Text})
	}
	a, err := lg.Assess(ctx, turns)
	if err != nil {
		v := guard.Verdict{Action: guard.Block, Rule: "llamaguard.error", Reason: "Llama Guard failed; blocking (fail closed)"}
		var d *guard.DenialError
		if errors.As(err, &d) {
			v.Rule, v.Reason = d.Rule, d.Reason
		}
		return v, err
	}
	if a.Safe {
		return guard.Verdict{Action: guard.Allow}, nil
	}
	checked := slices.DeleteFunc(slices.Clone(a.Categories), func(c string) bool { return slices.Contains(lg.excluded, c) })
	if len(checked) == 0 {
		// Only categories the caller excluded (possible with TransportChat).
		return guard.Verdict{Action: guard.Allow}, nil
	}
	return guard.Verdict{Action: guard.Block, Categories: checked, Rule: "llamaguard.unsafe",
		Reason: "Llama Guard judged the " + strings.ToLower(turns[len(turns)-1].Role.String()) +
			" turn unsafe: " + lg.describe(checked)}, nil
}

func (lg *LlamaGuard) describe(codes []string) string {
	var parts []string
	for _, code := range codes {
		name := ""
		for _, c := range append(LlamaGuard3Categories(), lg.cats...) {
			if c.Code == code {
				name = strings.TrimRight(strings.TrimSpace(c.Name), ".")
				break
			}
		}
		parts = append(parts, code+" ("+name+")")
	}
	return strings.Join(parts, ", ")
}

// Assess asks Llama Guard about the last turn of turns. Every failure is a
// [*guard.DenialError] (matching [guard.ErrDenied]) whose rule says what went
// wrong: "llamaguard.timeout", "llamaguard.http", "llamaguard.unavailable" or
// "llamaguard.malformed" (which also matches [ErrMalformedReply]).
func (lg *LlamaGuard) Assess(ctx context.Context, turns []Turn) (Assessment, error) {
	if len(turns) == 0 {
		return Assessment{}, denial("llamaguard.input", "nothing to judge", errors.New("no turns"))
	}
	ctx, cancel := context.WithTimeout(ctx, lg.timeout)
	defer cancel()
	var reply, finish string
	var err error
	if lg.transport == TransportChat {
		reply, finish, err = lg.chat(ctx, turns)
	} else {
		reply, finish, err = lg.complete(ctx, turns)
	}
	if err != nil {
		return Assessment{}, classify(ctx, err)
	}
	if finish == string(openai.FinishReasonLength) {
		return Assessment{}, denial("llamaguard.malformed", "Llama Guard reply was cut off (finish_reason length); blocking (fail closed)",
			fmt.Errorf("%w: reply truncated", ErrMalformedReply))
	}
	a, err := ParseReply(reply, lg.known)
	if err != nil {
		return Assessment{}, denial("llamaguard.malformed", "unparseable Llama Guard reply; blocking (fail closed): "+err.Error(), err)
	}
	return a, nil
}

func denial(rule, reason string, err error) *guard.DenialError {
	return &guard.DenialError{Stage: guard.StageOutput, Rule: rule, Reason: reason, Err: err}
}

// classify turns a request error into a denial that says what failed.
func classify(ctx context.Context, err error) error {
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return denial("llamaguard.timeout", "Llama Guard did not answer in time; blocking (fail closed)", err)
	case errors.Is(err, context.Canceled):
		return denial("llamaguard.cancelled", "request cancelled; blocking", err)
	case errors.As(err, &apiErr):
		return denial("llamaguard.http", fmt.Sprintf("Llama Guard endpoint returned HTTP %d; blocking (fail closed)", apiErr.HTTPStatusCode), err)
	case errors.As(err, &reqErr):
		return denial("llamaguard.http", fmt.Sprintf("Llama Guard endpoint returned HTTP %d; blocking (fail closed)", reqErr.HTTPStatusCode), err)
	}
	return denial("llamaguard.unavailable", "Llama Guard endpoint unavailable; blocking (fail closed)", err)
}

// temperature is the smallest positive value: go-openai omits a zero
// temperature, and Llama Guard should decode greedily.
const temperature = math.SmallestNonzeroFloat32

func (lg *LlamaGuard) complete(ctx context.Context, turns []Turn) (string, string, error) {
	resp, err := lg.client.CreateCompletion(ctx, openai.CompletionRequest{
		Model:       lg.model,
		Prompt:      lg.Prompt(turns),
		MaxTokens:   64,
		Temperature: temperature,
	})
	if err != nil {
		return "", "", err
	}
	if len(resp.Choices) == 0 {
		return "", "", nil // parsed as an empty reply
	}
	return resp.Choices[0].Text, resp.Choices[0].FinishReason, nil
}

func (lg *LlamaGuard) chat(ctx context.Context, turns []Turn) (string, string, error) {
	var msgs []openai.ChatCompletionMessage
	if turns[0].Role == RoleAgent {
		// Chat templates expect the conversation to open with a user turn.
		msgs = append(msgs, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: ""})
	}
	for _, t := range turns {
		role := openai.ChatMessageRoleUser
		if t.Role == RoleAgent {
			role = openai.ChatMessageRoleAssistant
		}
		msgs = append(msgs, openai.ChatCompletionMessage{Role: role, Content: sanitizeTurn(t.Content)})
	}
	req := openai.ChatCompletionRequest{Model: lg.model, Messages: msgs, MaxTokens: 64, Temperature: temperature}
	if len(lg.excluded) > 0 {
		req.ChatTemplateKwargs = map[string]any{"excluded_category_keys": slices.Clone(lg.excluded)}
	}
	resp, err := lg.client.CreateChatCompletion(ctx, req)
	if err != nil {
		return "", "", err
	}
	if len(resp.Choices) == 0 {
		return "", "", nil
	}
	return resp.Choices[0].Message.Content, string(resp.Choices[0].FinishReason), nil
}

// Prompt renders the Llama Guard 3 prompt for turns, judging the last turn's
// role, with the configured categories. Turn text is neutralised first (see the
// package documentation) so it cannot close the conversation, forge a turn or
// inject special tokens.
func (lg *LlamaGuard) Prompt(turns []Turn) string {
	role := RoleAgent
	if len(turns) > 0 {
		role = turns[len(turns)-1].Role
	}
	var b strings.Builder
	b.WriteString("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n")
	b.WriteString("Task: Check if there is unsafe content in '" + role.String() +
		"' messages in conversations according our safety policy with the below categories.\n\n")
	b.WriteString("<BEGIN UNSAFE CONTENT CATEGORIES>\n")
	for _, c := range lg.cats {
		b.WriteString(c.Code + ": " + strings.TrimSpace(c.Name) + "\n")
		if d := strings.TrimSpace(c.Description); d != "" {
			b.WriteString(d + "\n")
		}
	}
	b.WriteString("<END UNSAFE CONTENT CATEGORIES>\n\n<BEGIN CONVERSATION>\n\n")
	for _, t := range turns {
		b.WriteString(t.Role.String() + ": " + sanitizeTurn(t.Content) + "\n\n")
	}
	b.WriteString("<END CONVERSATION>\n\n")
	b.WriteString("Provide your safety assessment for ONLY THE LAST " + role.String() + " message in the above conversation:\n")
	b.WriteString(" - First line must read 'safe' or 'unsafe'.\n")
	b.WriteString(" - If unsafe, a second line must include a comma-separated list of violated categories.")
	b.WriteString("<|eot_id|><|start_header_id|>assistant<|end_header_id|>")
	return b.String()
}

// sanitizeTurn neutralises text that would change the prompt's structure: special
// tokens ("<|eot_id|>"), the section markers ("<END CONVERSATION>") and lines
// that start like a turn ("Agent: ...", which would let a judged answer end with a
// forged, harmless last turn). The words stay readable for the judge.
func sanitizeTurn(s string) string {
	if !strings.ContainsAny(s, "<:") {
		return s
	}
	s = strings.ReplaceAll(s, "<|", "< |")
	s = replaceFold(s, "<BEGIN", "< BEGIN")
	s = replaceFold(s, "<END", "< END")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		t := strings.TrimLeft(l, " \t\r")
		for _, p := range []string{"user", "agent", "assistant", "system"} {
			if len(t) > len(p) && strings.EqualFold(t[:len(p)], p) {
				rest := strings.TrimLeft(t[len(p):], " \t")
				if strings.HasPrefix(rest, ":") {
					lines[i] = "> " + l
					break
				}
			}
		}
	}
	return strings.Join(lines, "\n")
}

// replaceFold replaces every ASCII-case-insensitive occurrence of old with new.
func replaceFold(s, old, new string) string {
	lower := asciiLower(s)
	lo := asciiLower(old)
	if !strings.Contains(lower, lo) {
		return s
	}
	var b strings.Builder
	i := 0
	for {
		k := strings.Index(lower[i:], lo)
		if k < 0 {
			break
		}
		b.WriteString(s[i : i+k])
		b.WriteString(new)
		i += k + len(old)
	}
	b.WriteString(s[i:])
	return b.String()
}

// asciiLower lower-cases ASCII letters only, so byte offsets are preserved.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if isUpper(c) {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
