package guard

import "context"

// Handler runs a tool call. Implementations must be safe for concurrent use.
//
// A Handler that returns a non-nil error may return a nil *Result. A guard that
// denies a call returns a [*DenialError] (which matches [ErrDenied]) and never
// calls the next handler.
type Handler interface {
	Handle(ctx context.Context, c *Call) (*Result, error)
}

// HandlerFunc adapts a function to a [Handler].
type HandlerFunc func(ctx context.Context, c *Call) (*Result, error)

// Handle calls f(ctx, c).
func (f HandlerFunc) Handle(ctx context.Context, c *Call) (*Result, error) { return f(ctx, c) }

// Middleware wraps a Handler with a guard.
type Middleware func(Handler) Handler

// Chain composes middlewares into one. The first middleware is outermost: it sees
// the call first and the result last, exactly like go-kit's endpoint.Chain and
// grpc's ChainUnaryInterceptor. Chain(a, b, c)(h) is a(b(c(h))).
//
// Nil middlewares are skipped, so optional stages can be left out with a nil.
func Chain(outer Middleware, others ...Middleware) Middleware {
	return func(next Handler) Handler {
		for i := len(others) - 1; i >= 0; i-- {
			if others[i] != nil {
				next = others[i](next)
			}
		}
		if outer != nil {
			next = outer(next)
		}
		return next
	}
}
