package scope_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/agentguard/agentguard/examples/policies"
	"github.com/agentguard/agentguard/guard"
	"github.com/agentguard/agentguard/scope"
)

// A reader may read documents but not refund orders; the denial is typed.
func ExamplePolicy_Authorize() {
	p, err := scope.Parse("support.yaml", policies.SupportYAML)
	if err != nil {
		panic(err)
	}
	reader := guard.Principal{Subject: "customer-7", Role: "reader"}
	for _, tool := range []string{"read_document", "refund_order", "Read_Document"} {
		err := p.Authorize(context.Background(), &guard.Call{Tool: tool, Principal: reader})
		var d *guard.DenialError
		if errors.As(err, &d) {
			fmt.Printf("%s: denied (%s)\n", tool, d.Rule)
			continue
		}
		fmt.Printf("%s: allowed\n", tool)
	}
	// Output:
	// read_document: allowed
	// refund_order: denied (role.tools)
	// Read_Document: denied (role.tools)
}

// CEL conditions are compiled when the policy loads and evaluated over the
// call's JSON arguments.
func ExampleNew_condition() {
	p, err := scope.New(scope.Spec{
		Version: 1,
		Roles:   map[string]scope.Role{"admin": {Tools: []string{"refund_order"}}},
		Tools:   map[string]scope.Tool{"refund_order": {When: "args.amount <= 100.0"}},
	})
	if err != nil {
		panic(err)
	}
	admin := guard.Principal{Role: "admin"}
	for _, args := range []string{`{"amount": 40}`, `{"amount": 4000}`, `{"amount": 40, "amount": 4000}`} {
		err := p.Authorize(context.Background(), &guard.Call{Tool: "refund_order", Args: []byte(args), Principal: admin})
		fmt.Println(args, "allowed:", err == nil)
	}
	// Output:
	// {"amount": 40} allowed: true
	// {"amount": 4000} allowed: false
	// {"amount": 40, "amount": 4000} allowed: false
}

// The middleware stops a denied call before the tool runs.
func ExamplePolicy_Middleware() {
	p, _ := scope.Parse("support.yaml", policies.SupportYAML)
	mw, err := p.Middleware()
	if err != nil {
		panic(err)
	}
	refund := mw(guard.HandlerFunc(func(ctx context.Context, c *guard.Call) (*guard.Result, error) {
		fmt.Println("refund issued")
		return &guard.Result{Content: "ok"}, nil
	}))
	_, err = refund.Handle(context.Background(), &guard.Call{Tool: "refund_order", Principal: guard.Principal{Role: "reader"}})
	fmt.Println(guard.ModelMessage(err))
	// Output:
	// The call to "refund_order" was refused by policy.
}

// Each role gets only its statement classes.
func ExamplePolicy_CheckSQL() {
	p, _ := scope.Parse("support.yaml", policies.SupportYAML)
	for _, c := range []struct{ role, sql string }{
		{"reader", "SELECT status FROM orders WHERE id = $1"},
		{"reader", "UPDATE orders SET status = 'x'"},
		{"operator", "UPDATE orders SET status = 'shipped' WHERE id = $1"},
		{"operator", "SELECT 1; DROP TABLE orders"},
		{"operator", "WITH d AS (DELETE FROM orders RETURNING id) SELECT id FROM d"},
		{"admin", "DROP TABLE orders"},
	} {
		fmt.Println(c.role, p.CheckSQL(c.role, c.sql) == nil)
	}
	// Output:
	// reader true
	// reader false
	// operator true
	// operator false
	// operator false
	// admin true
}

func ExampleClassify() {
	for _, q := range []string{
		"SELECT * FROM orders FOR UPDATE",
		"INSERT OR REPLACE INTO t VALUES (1)",
		"SELECT pg_sleep(10)",
		"SELECT 1 -- hidden",
	} {
		c, err := scope.Classify(q)
		if err != nil {
			fmt.Println("unclassifiable")
			continue
		}
		fmt.Println(c.Class)
	}
	// Output:
	// update
	// delete
	// unclassifiable
	// unclassifiable
}

// The transport refuses a reader's DELETE before anything is sent.
func ExampleTransport() {
	p, _ := scope.Parse("support.yaml", policies.SupportYAML)
	t, err := scope.NewTransport(scope.TransportConfig{Policy: p, Role: "reader"})
	if err != nil {
		panic(err)
	}
	req, _ := http.NewRequest(http.MethodDelete, "https://api.example.com/orders/A-1001", nil)
	_, err = t.Client().Do(req)
	fmt.Println(errors.Is(err, guard.ErrDenied))
	req, _ = http.NewRequest(http.MethodGet, "http://169.254.169.254/latest/meta-data/", nil)
	fmt.Println(t.Check(req))
	// Output:
	// true
	// agentguard: scope denied call "http": http.addr: address 169.254.169.254 is link-local
}

// A scoped JWT becomes the request's principal; the policy then authorises the
// agent's tool calls for that principal's role.
func ExampleJWTVerifier_Handler() {
	p, _ := scope.Parse("support.yaml", policies.SupportYAML)
	key := []byte("an example HMAC key of 32+ bytes!!")
	v, err := scope.NewJWTVerifier(scope.JWTConfig{
		Algorithms: []string{"HS256"}, Key: key,
		Issuer: "https://idp.example", Audience: "support-agent", Policy: p,
	})
	if err != nil {
		panic(err)
	}
	agent := v.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pr, _ := scope.PrincipalFromContext(r.Context())
		call := &guard.Call{Tool: "refund_order", Args: []byte(`{"amount": 20}`)}
		err := p.Authorize(r.Context(), call) // no role on the call: the context's is used
		fmt.Fprintf(w, "%s as %s: refund allowed=%v", pr.Subject, pr.Role, err == nil)
	}))
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": "https://idp.example", "aud": "support-agent", "sub": "customer-7",
		"role": "reader", "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString(key)
	for _, auth := range []string{"Bearer " + tok, "Bearer not-a-token"} {
		req := httptest.NewRequest("POST", "/chat", nil)
		req.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		agent.ServeHTTP(w, req)
		fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	}
	// Output:
	// 200 customer-7 as reader: refund allowed=false
	// 401 unauthorized
}
