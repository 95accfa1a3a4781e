package sanitize

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/kballard/go-shellquote"
	"mvdan.cc/sh/v3/syntax"

	"github.com/agentguard/agentguard/guard"
)

// Defaults for [RunnerConfig] fields left zero.
const (
	DefaultCommandTimeout = 10 * time.Second
	DefaultMaxOutput      = 1 << 20
	DefaultMaxArgs        = 64
	DefaultMaxArgLen      = 4096
	DefaultMaxLineLen     = 8192
)

// Program is one allow-listed executable.
type Program struct {
	// Name is what the model writes as the command, for example "git". It has no
	// path separator; a model writing "/usr/bin/git" is refused.
	Name string
	// Path is the absolute path of the executable that runs. It is fixed at
	// construction; $PATH is never searched at run time.
	Path string
	// Options lists the options allowed before "--": exact strings such as "-n"
	// or "--oneline", or prefixes ending in '=' such as "--format=", which allow
	// any value. Any other argument starting with '-' before "--" is refused, so
	// a value the model supplies cannot turn into an option ("--output=/etc/x",
	// "-oProxyCommand=…"). After "--" every argument is taken as an operand.
	Options []string
	// AllowAllOptions lets every argument through whatever its first character.
	// Use only for programs that take no dangerous options.
	AllowAllOptions bool
	// NoDoubleDash refuses "--" for programs that do not understand it (they
	// would take it as an operand).
	NoDoubleDash bool
}

// maxParseLine bounds any line given to ParseCommandLine.
const maxParseLine = 64 << 10

var programNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$`)

// RunnerConfig configures a [Runner]. Zero fields take safe defaults; Dir and at
// least one Program are required.
type RunnerConfig struct {
	// Programs is the allow-list.
	Programs []Program
	// Dir is the working directory of every command (required, absolute).
	Dir string
	// Env is the complete environment of every command, as "KEY=value". Empty
	// (the default) runs commands with no environment at all: nothing of the
	// agent's own environment (API keys, tokens) is inherited.
	Env []string
	// Timeout bounds each run (default 10s); the process group is killed.
	Timeout time.Duration
	// MaxOutput bounds stdout and stderr each, in bytes (default 1 MiB). A
	// command that writes more is killed and its output truncated.
	MaxOutput int
	// MaxArgs bounds the argument count including the program (default 64).
	MaxArgs int
	// MaxArgLen bounds each argument in bytes (default 4096).
	MaxArgLen int
	// MaxLineLen bounds a command line given to [Runner.ParseLine] (default 8192).
	MaxLineLen int
}

// Runner runs allow-listed programs with an argv, through os/exec and never a
// shell. It is safe for concurrent use.
type Runner struct {
	progs map[string]Program
	cfg   RunnerConfig
}

// NewRunner validates cfg: every program must have a valid name and an absolute
// path to an existing executable file.
func NewRunner(cfg RunnerConfig) (*Runner, error) {
	if len(cfg.Programs) == 0 {
		return nil, fmt.Errorf("sanitize: runner: no programs allowed: %w", guard.ErrNilPolicy)
	}
	if cfg.Dir == "" || !filepath.IsAbs(cfg.Dir) {
		return nil, fmt.Errorf("sanitize: runner: Dir must be an absolute directory, got %q", cfg.Dir)
	}
	if fi, err := os.Stat(cfg.Dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("sanitize: runner: Dir %q is not a directory", cfg.Dir)
	}
	for _, kv := range cfg.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" || strings.IndexByte(kv, 0) >= 0 {
			return nil, fmt.Errorf("sanitize: runner: invalid environment entry %q", kv)
		}
	}
	if cfg.Timeout < 0 || cfg.MaxOutput < 0 || cfg.MaxArgs < 0 || cfg.MaxArgLen < 0 || cfg.MaxLineLen < 0 {
		return nil, errors.New("sanitize: runner: negative limit")
	}
	cfg.Timeout = cmp(cfg.Timeout, DefaultCommandTimeout)
	cfg.MaxOutput = cmp(cfg.MaxOutput, DefaultMaxOutput)
	cfg.MaxArgs = cmp(cfg.MaxArgs, DefaultMaxArgs)
	cfg.MaxArgLen = cmp(cfg.MaxArgLen, DefaultMaxArgLen)
	cfg.MaxLineLen = cmp(cfg.MaxLineLen, DefaultMaxLineLen)
	cfg.Env = append([]string{}, cfg.Env...) // non-nil: exec inherits the environment for a nil Env
	r := &Runner{progs: make(map[string]Program, len(cfg.Programs)), cfg: cfg}
	for _, p := range cfg.Programs {
		if !programNameRE.MatchString(p.Name) {
			return nil, fmt.Errorf("sanitize: runner: invalid program name %q", p.Name)
		}
		if _, dup := r.progs[p.Name]; dup {
			return nil, fmt.Errorf("sanitize: runner: program %q listed twice", p.Name)
		}
		if !filepath.IsAbs(p.Path) {
			return nil, fmt.Errorf("sanitize: runner: program %q: Path must be absolute, got %q", p.Name, p.Path)
		}
		fi, err := os.Stat(p.Path)
		if err != nil {
			return nil, fmt.Errorf("sanitize: runner: program %q: %w", p.Name, err)
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			return nil, fmt.Errorf("sanitize: runner: program %q: %s is not an executable file", p.Name, p.Path)
		}
		for _, o := range p.Options {
			if !strings.HasPrefix(o, "-") || o == "-" || o == "--" {
				return nil, fmt.Errorf("sanitize: runner: program %q: invalid option %q", p.Name, o)
			}
		}
		p.Options = slices.Clone(p.Options)
		r.progs[p.Name] = p
	}
	return r, nil
}

func cmp[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// CommandError is a refused command; Rule is a short machine name such as
// "operator", "substitution", "program" or "option".
type CommandError struct {
	Rule string
	Msg  string
}

func (e *CommandError) Error() string { return "command " + e.Msg }

func cmdErr(rule, format string, args ...any) error {
	return &CommandError{Rule: rule, Msg: fmt.Sprintf(format, args...)}
}

func denyCommand(err error) error {
	var ce *CommandError
	if errors.As(err, &ce) {
		return &guard.DenialError{Stage: guard.StageArgs, Rule: "command." + ce.Rule, Reason: ce.Error(), Err: err}
	}
	return err
}

// ParseCommandLine parses a command line a model wrote, with a real shell parser
// (mvdan.cc/sh, bash dialect), and returns its argv when — and only when — it is
// one simple command made of plain words. It refuses, as a [*CommandError]:
// operators and lists (; && || | & and newlines), redirections and here-docs,
// command, process and arithmetic substitution ($(…), backticks, <(…)), every
// parameter expansion ($VAR, ${…}, $IFS), variable assignments, subshells,
// blocks, keywords (if, for, [[ … ]]), comments, $'…' and $"…" strings, unquoted
// glob, brace, history and tilde characters (* ? [ { ! ~), control characters
// anywhere, and lines over 64 KiB. Quotes are removed as a shell would. No
// allow-list is applied; [Runner.ParseLine] does that.
func ParseCommandLine(line string) (argv []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			argv, err = nil, cmdErr("syntax", "could not be parsed")
		}
	}()
	if len(line) > maxParseLine {
		return nil, cmdErr("limit", "is too long (the limit is %d bytes)", maxParseLine)
	}
	if strings.ContainsFunc(line, isControlOrInvisible) {
		return nil, cmdErr("control", "must be a single line without control characters (newlines, tabs, NUL, …)")
	}
	p := syntax.NewParser(syntax.Variant(syntax.LangBash), syntax.KeepComments(true))
	f, err := p.Parse(strings.NewReader(line), "")
	if err != nil {
		return nil, cmdErr("syntax", "is not valid shell syntax; write one command with its arguments")
	}
	if len(f.Last) > 0 {
		return nil, cmdErr("comment", "must not contain comments (#)")
	}
	switch len(f.Stmts) {
	case 0:
		return nil, cmdErr("empty", "is empty")
	case 1:
	default:
		return nil, cmdErr("operator", "must be a single command: ';', '&' and newlines are not allowed")
	}
	st := f.Stmts[0]
	switch {
	case len(st.Comments) > 0:
		return nil, cmdErr("comment", "must not contain comments (#)")
	case st.Background || st.Coprocess || st.Disown:
		return nil, cmdErr("operator", "must not run in the background ('&')")
	case st.Semicolon.IsValid():
		return nil, cmdErr("operator", "must be a single command: ';', '&' and newlines are not allowed")
	case st.Negated:
		return nil, cmdErr("operator", "must not be negated ('!')")
	case len(st.Redirs) > 0:
		return nil, cmdErr("redirect", "must not redirect input or output (<, >, >>, <<, 2>&1, …); the output is returned to you")
	}
	call, ok := st.Cmd.(*syntax.CallExpr)
	if !ok {
		return nil, cmdErr("operator", "must be one plain command: %s is not allowed", describeCommand(st.Cmd))
	}
	if len(call.Assigns) > 0 {
		return nil, cmdErr("assignment", "must not set variables (NAME=value)")
	}
	if len(call.Args) == 0 {
		return nil, cmdErr("empty", "is empty")
	}
	argv = make([]string, 0, len(call.Args))
	for _, w := range call.Args {
		s, err := wordValue(w)
		if err != nil {
			return nil, err
		}
		argv = append(argv, s)
	}
	return argv, nil
}

func isControlOrInvisible(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\u0085' || r == '\ufeff'
}

func describeCommand(c syntax.Command) string {
	switch c.(type) {
	case *syntax.BinaryCmd:
		return "combining commands with '&&', '||' or '|'"
	case *syntax.Subshell:
		return "a subshell '( … )'"
	case *syntax.Block:
		return "a block '{ … }'"
	case *syntax.IfClause, *syntax.WhileClause, *syntax.ForClause, *syntax.CaseClause:
		return "a shell control structure"
	case *syntax.FuncDecl:
		return "a function definition"
	case *syntax.ArithmCmd, *syntax.LetClause:
		return "arithmetic"
	case *syntax.TestClause:
		return "a test '[[ … ]]'"
	case *syntax.DeclClause:
		return "a declaration"
	case *syntax.TimeClause:
		return "'time'"
	case *syntax.CoprocClause:
		return "a coprocess"
	}
	return "this construct"
}

// wordValue removes quotes from a word made only of literal text, refusing every
// expansion.
func wordValue(w *syntax.Word) (string, error) {
	var b strings.Builder
	for _, part := range w.Parts {
		switch p := part.(type) {
		case *syntax.Lit:
			if err := unquotedLit(&b, p.Value); err != nil {
				return "", err
			}
		case *syntax.SglQuoted:
			if p.Dollar {
				return "", cmdErr("quote", "must not use $'…' strings; use plain single quotes")
			}
			b.WriteString(p.Value)
		case *syntax.DblQuoted:
			if p.Dollar {
				return "", cmdErr("quote", "must not use $\"…\" strings; use plain double quotes")
			}
			for _, dp := range p.Parts {
				lit, ok := dp.(*syntax.Lit)
				if !ok {
					return "", expansionError(dp)
				}
				doubleQuotedLit(&b, lit.Value)
			}
		default:
			return "", expansionError(part)
		}
	}
	return b.String(), nil
}

func expansionError(p syntax.WordPart) error {
	switch p.(type) {
	case *syntax.ParamExp:
		return cmdErr("substitution", "must not use variables or parameter expansion ($NAME, ${…}, $IFS); write the value itself")
	case *syntax.CmdSubst:
		return cmdErr("substitution", "must not use command substitution ($(…) or backticks)")
	case *syntax.ArithmExp:
		return cmdErr("substitution", "must not use arithmetic expansion ($((…)))")
	case *syntax.ProcSubst:
		return cmdErr("substitution", "must not use process substitution (<(…) or >(…))")
	case *syntax.ExtGlob:
		return cmdErr("glob", "must not use glob patterns; list the files explicitly")
	case *syntax.BraceExp:
		return cmdErr("glob", "must not use brace expansion ({a,b}); write each argument")
	}
	return cmdErr("substitution", "must not use shell expansions")
}

// unquotedLit appends an unquoted literal with backslash escapes removed. It
// refuses unescaped characters a shell would expand.
func unquotedLit(b *strings.Builder, s string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' {
			if i+1 >= len(s) {
				return cmdErr("syntax", "must not end with a backslash")
			}
			i++
			b.WriteByte(s[i])
			continue
		}
		switch c {
		case '*', '?', '[':
			return cmdErr("glob", "must not use glob characters (* ? [) unquoted; quote them or list files explicitly")
		case '{':
			return cmdErr("glob", "must not use unquoted braces ({); quote them")
		case '!':
			return cmdErr("operator", "must not use an unquoted '!'; quote it")
		case '~':
			return cmdErr("tilde", "must not use '~' unquoted; write the path relative to the working folder")
		case '$', '`', ';', '&', '|', '<', '>', '(', ')':
			// The parser does not leave these in a literal, but refuse them
			// should a future version do so.
			return cmdErr("operator", "contains the shell special character %q unquoted", c)
		}
		b.WriteByte(c)
	}
	return nil
}

// doubleQuotedLit appends the text of a double-quoted literal: a backslash
// escapes only $ ` " \ (newlines are refused before parsing).
func doubleQuotedLit(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) && strings.IndexByte("$`\"\\", s[i+1]) >= 0 {
			i++
			c = s[i]
		}
		b.WriteByte(c)
	}
}

// SplitArgs splits a simple argument string the way a shell would, with
// go-shellquote, and returns the words. go-shellquote does not recognise ';',
// '&&', '$(…)' or redirections (it would keep them as literal text), so the
// same string is also parsed with the real shell parser (see
// [ParseCommandLine]), and refused unless that parse is a plain list of words
// equal to go-shellquote's.
func SplitArgs(s string) ([]string, error) {
	words, err := shellquote.Split(s)
	if err != nil {
		return nil, cmdErr("syntax", "has unbalanced quotes or a trailing backslash")
	}
	if len(words) == 0 {
		return []string{}, nil
	}
	// Prefix a fixed command so the first word is parsed as an argument.
	sh, err := ParseCommandLine("x " + s)
	if err != nil {
		var ce *CommandError
		if errors.As(err, &ce) {
			return nil, &CommandError{Rule: ce.Rule, Msg: strings.Replace(ce.Msg, "command", "arguments", 1)}
		}
		return nil, err
	}
	if !slices.Equal(sh[1:], words) {
		return nil, cmdErr("syntax", "arguments are ambiguous; quote each argument with single quotes")
	}
	return words, nil
}

// Render quotes argv for a log line or an audit event with go-shellquote, so that
// a shell (and [ParseCommandLine]) would split it back into the same argv. It
// also single-quotes what go-shellquote leaves bare but a shell (or
// [ParseCommandLine]) would not take literally: a leading '#' (a comment), a '~'
// after the start of a word, and a first word that is a reserved word or looks
// like an assignment. The result is for reading only; never pass it to
// a shell.
func Render(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		q := shellquote.Join(a)
		if strings.HasPrefix(q, "#") || strings.Contains(q, "~") || i == 0 && (strings.Contains(q, "=") || reservedWords[q]) {
			q = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts[i] = q
	}
	return strings.Join(parts, " ")
}

var reservedWords = map[string]bool{
	"if": true, "then": true, "else": true, "elif": true, "fi": true, "do": true, "done": true,
	"case": true, "esac": true, "while": true, "until": true, "for": true, "in": true,
	"function": true, "select": true, "time": true, "coproc": true, "{": true, "}": true,
	"[[": true, "]]": true, "!": true, "declare": true, "local": true, "export": true,
	"readonly": true, "typeset": true, "nameref": true, "let": true,
}

// Check reports whether argv may run: argv[0] is an allow-listed program name,
// the argument count and lengths are within limits, no argument has a NUL or
// control character, and no argument before "--" starts with '-' unless the
// program allows that option. The error is a [*guard.DenialError] at
// [guard.StageArgs] with a "command." rule.
func (r *Runner) Check(argv []string) error {
	_, err := r.check(argv)
	return denyCommand(err)
}

func (r *Runner) check(argv []string) (Program, error) {
	if len(argv) == 0 || argv[0] == "" {
		return Program{}, cmdErr("empty", "is empty")
	}
	if strings.ContainsRune(argv[0], '/') {
		return Program{}, cmdErr("program", "must name the program without a path (%s)", r.programList())
	}
	prog, ok := r.progs[argv[0]]
	if !ok {
		return Program{}, cmdErr("program", "%q is not an allowed program (allowed: %s)", truncate(argv[0], 64), r.programList())
	}
	if len(argv) > r.cfg.MaxArgs {
		return Program{}, cmdErr("limit", "has too many arguments (the limit is %d)", r.cfg.MaxArgs-1)
	}
	operands := false
	for i, a := range argv[1:] {
		if len(a) > r.cfg.MaxArgLen {
			return Program{}, cmdErr("limit", "argument %d is too long (the limit is %d bytes)", i+1, r.cfg.MaxArgLen)
		}
		if strings.ContainsFunc(a, isControlOrInvisible) {
			return Program{}, cmdErr("control", "argument %d contains a control character", i+1)
		}
		if operands || !strings.HasPrefix(a, "-") {
			continue
		}
		if a == "--" {
			if prog.NoDoubleDash {
				return Program{}, cmdErr("option", "%s does not accept '--'", prog.Name)
			}
			operands = true
			continue
		}
		if !prog.AllowAllOptions && !optionAllowed(prog.Options, a) {
			return Program{}, cmdErr("option", "argument %d (%q) looks like an option %s does not allow; put operands that start with '-' after '--'",
				i+1, truncate(a, 40), prog.Name)
		}
	}
	return prog, nil
}

func optionAllowed(opts []string, a string) bool {
	for _, o := range opts {
		if a == o || strings.HasSuffix(o, "=") && strings.HasPrefix(a, o) {
			return true
		}
	}
	return false
}

func (r *Runner) programList() string {
	names := make([]string, 0, len(r.progs))
	for n := range r.progs {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// ParseLine parses a command line a model wrote with [ParseCommandLine] and checks
// the argv with [Runner.Check]. The error is a [*guard.DenialError].
func (r *Runner) ParseLine(line string) ([]string, error) {
	if len(line) > r.cfg.MaxLineLen {
		return nil, denyCommand(cmdErr("limit", "is too long (the limit is %d bytes)", r.cfg.MaxLineLen))
	}
	argv, err := ParseCommandLine(line)
	if err != nil {
		return nil, denyCommand(err)
	}
	if err := r.Check(argv); err != nil {
		return nil, err
	}
	return argv, nil
}

// CommandResult is the outcome of a command that started. A non-zero exit is a
// result, not an error.
type CommandResult struct {
	Argv     []string
	Stdout   []byte
	Stderr   []byte
	ExitCode int
	// LimitHit is guard.LimitTime or guard.LimitOutput when the run was killed.
	LimitHit guard.Limit
	Duration time.Duration
}

// Run checks argv and runs it: the allow-listed program's fixed path, argv as
// its arguments, no shell, the configured environment only (none by default),
// the configured directory, stdin as given (nil is empty), within the timeout
// and output caps. The process group is killed on timeout, overflow or when ctx
// ends; a run stopped by ctx returns ctx's error, one stopped by a limit returns
// a result with LimitHit set.
func (r *Runner) Run(ctx context.Context, argv []string, stdin []byte) (*CommandResult, error) {
	prog, err := r.check(argv)
	if err != nil {
		return nil, denyCommand(err)
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog.Path, argv[1:]...)
	cmd.Args[0] = prog.Name
	cmd.Env = slices.Clone(r.cfg.Env)
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Dir = r.cfg.Dir
	cmd.Stdin = bytes.NewReader(stdin)
	overflow := make(chan struct{})
	var once sync.Once
	onOverflow := func() { once.Do(func() { close(overflow); cancel() }) }
	stdout := &cappedBuffer{max: r.cfg.MaxOutput, overflow: onOverflow}
	stderr := &cappedBuffer{max: r.cfg.MaxOutput, overflow: onOverflow}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	setProcessGroup(cmd)
	cmd.WaitDelay = time.Second
	start := time.Now()
	runErr := cmd.Run()
	res := &CommandResult{
		Argv:     slices.Clone(argv),
		Stdout:   stdout.buf.Bytes(),
		Stderr:   stderr.buf.Bytes(),
		Duration: time.Since(start),
		ExitCode: -1,
	}
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	select {
	case <-overflow:
		res.LimitHit = guard.LimitOutput
		return res, nil
	default:
	}
	if err := parent.Err(); err != nil {
		return nil, fmt.Errorf("sanitize: running %s: %w", prog.Name, err)
	}
	if ctx.Err() != nil {
		res.LimitHit = guard.LimitTime
		return res, nil
	}
	var ee *exec.ExitError
	if runErr != nil && !errors.As(runErr, &ee) {
		return nil, fmt.Errorf("sanitize: running %s: %w", prog.Name, runErr)
	}
	return res, nil
}

// RunLine parses line with [Runner.ParseLine] and runs the argv with
// [Runner.Run].
func (r *Runner) RunLine(ctx context.Context, line string, stdin []byte) (*CommandResult, error) {
	argv, err := r.ParseLine(line)
	if err != nil {
		return nil, err
	}
	return r.Run(ctx, argv, stdin)
}

// cappedBuffer keeps at most max bytes and reports the first overflow.
type cappedBuffer struct {
	mu       sync.Mutex
	buf      bytes.Buffer
	max      int
	overflow func()
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	room := c.max - c.buf.Len()
	if len(p) > room {
		c.buf.Write(p[:max(room, 0)])
		c.overflow()
		return len(p), nil
	}
	c.buf.Write(p)
	return len(p), nil
}
