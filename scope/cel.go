package scope

import (
	"context"
	"errors"
	"fmt"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/interpreter"

	"github.com/agentguard/agentguard/guard"
)

const (
	// maxConditionLen bounds the source of a CEL condition.
	maxConditionLen = 4096
	// conditionCostLimit bounds the work of one evaluation (CEL cost units); a
	// condition that exceeds it denies.
	conditionCostLimit = 100_000
)

func newCELEnv() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("args", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("principal", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("tool", cel.StringType),
		cel.CrossTypeNumericComparisons(true),
	)
}

func compileCondition(env *cel.Env, src string) (cel.Program, error) {
	if len(src) > maxConditionLen {
		return nil, fmt.Errorf("condition longer than %d bytes", maxConditionLen)
	}
	ast, iss := env.Compile(src)
	if iss != nil && iss.Err() != nil {
		return nil, iss.Err()
	}
	if !ast.OutputType().IsExactType(types.BoolType) {
		return nil, fmt.Errorf("condition has type %s, want bool", ast.OutputType())
	}
	return env.Program(ast,
		cel.CostLimit(conditionCostLimit),
		cel.EvalOptions(cel.OptOptimize),
	)
}

// activation resolves the condition's variables without building a map per call.
type activation struct {
	args map[string]any
	call *guard.Call
	pr   *guard.Principal
}

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "args":
		return a.args, true
	case "tool":
		return a.call.Tool, true
	case "principal":
		scopes := a.pr.Scopes
		if scopes == nil {
			scopes = []string{}
		}
		return map[string]any{"subject": a.pr.Subject, "role": a.pr.Role, "scopes": scopes}, true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

var _ interpreter.Activation = (*activation)(nil)

// eval runs the tool's condition over c's arguments. Anything but a true result
// denies: false, an evaluation error, a cost overrun or arguments that are not a
// JSON object.
func (t *tool) eval(ctx context.Context, c *guard.Call, pr *guard.Principal) error {
	args, err := decodeArgs(c.Args)
	if err != nil {
		d := deny(c, "tool.args", fmt.Sprintf("arguments of %q cannot be checked: %v", c.Tool, err))
		d.Err = err
		return d
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		d := deny(c, "context", "call cancelled")
		d.Err = err
		return d
	}
	out, _, err := t.prog.Eval(&activation{args: args, call: c, pr: pr})
	if err != nil {
		d := deny(c, "tool.condition.error", fmt.Sprintf("condition of %q failed to evaluate (fail closed): %v", c.Tool, err))
		d.Err = err
		return d
	}
	if b, ok := out.Value().(bool); !ok || !b {
		if !ok {
			return deny(c, "tool.condition.error", fmt.Sprintf("condition of %q returned %s, not bool", c.Tool, out.Type()))
		}
		return deny(c, "tool.condition", fmt.Sprintf("condition of %q is false: %s", c.Tool, t.when))
	}
	return nil
}

// errArgs is matched by every argument decoding error.
var errArgs = errors.New("invalid arguments")
