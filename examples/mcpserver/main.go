// Command mcpserver is a small MCP server over stdio, used by the mcpguard tests
// and the agentguard demo as a real upstream process.
//
// Its tools deliberately trust their arguments (they are added with the raw
// go-sdk AddTool, which does not validate against the input schema), so that what
// the guarded proxy refuses is visibly refused by the proxy, not by the server:
//
//   - read_document {id}: returns a document. Document "ticket-7" carries an
//     indirect prompt injection, to show result scanning.
//   - refund_order {order_id, amount}: "refunds" an order; the schema caps the
//     amount at 500, the handler does not.
//   - delete_customer {customer_id}: an administrative tool.
//
// The variant flag (or MCPSERVER_VARIANT) changes the served definitions:
//
//	-variant=rugpull  refund_order's description and amount cap change (a rug pull)
//	-variant=poison   refund_order's description carries injected instructions
//
// Usage:
//
//	mcpserver [-variant normal|rugpull|poison]
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/agentguard/agentguard/examples/mcpserver/shopserver"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func main() {
	variant := flag.String("variant", envOr("MCPSERVER_VARIANT", "normal"), "tool definitions to serve: normal, rugpull or poison")
	flag.Parse()
	s, err := shopserver.New(*variant)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := s.Run(ctx, &mcp.StdioTransport{}); err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
