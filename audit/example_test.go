package audit_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/agentguard/agentguard/audit"
	"github.com/agentguard/agentguard/guard"
)

// Every decision of a stage goes to a hash-chained log; verification names the
// first record that was changed.
func Example() {
	var log bytes.Buffer
	w, _ := audit.NewWriter(&log, audit.WithKey([]byte("kept in a vault")))
	scope, _ := guard.Authorize(guard.ScoperFunc(func(ctx context.Context, c *guard.Call) error {
		return guard.Deny("role.tools", "reader may not refund")
	}), guard.WithAuditor(w))
	tool := scope(guard.HandlerFunc(func(context.Context, *guard.Call) (*guard.Result, error) { return nil, nil }))
	for _, id := range []string{"call_1", "call_2", "call_3"} {
		_, _ = tool.Handle(context.Background(), &guard.Call{ID: id, Tool: "refund_order", Principal: guard.Principal{Role: "reader"}})
	}
	res, err := audit.Verify(bytes.NewReader(log.Bytes()), audit.VerifyOptions{Key: []byte("kept in a vault")})
	fmt.Println(res.Records, err)

	// Someone turns the second denial into an allow.
	forged := strings.Replace(log.String(), `"decision":"deny","mode":"enforce","call_id":"call_2"`, `"decision":"allow","mode":"enforce","call_id":"call_2"`, 1)
	_, err = audit.Verify(strings.NewReader(forged), audit.VerifyOptions{Key: []byte("kept in a vault")})
	fmt.Println(err)
	// Output:
	// 3 <nil>
	// audit: line 2 (seq 2): edited: record hash does not match its contents
}
