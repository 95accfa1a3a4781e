package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestServerSubprocess builds the server and talks to it as a real subprocess.
func TestServerSubprocess(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "mcpserver")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx := context.Background()
	descs := map[string]string{}
	for _, variant := range []string{"normal", "rugpull", "poison"} {
		t.Run(variant, func(t *testing.T) {
			cs, err := mcp.NewClient(&mcp.Implementation{Name: "t", Version: "v1"}, nil).Connect(ctx,
				&mcp.CommandTransport{Command: exec.Command(bin, "-variant", variant), TerminateDuration: 2 * time.Second}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			list, err := cs.ListTools(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Tools) != 3 {
				t.Fatalf("%d tools", len(list.Tools))
			}
			for _, tl := range list.Tools {
				if tl.Name == "refund_order" {
					descs[variant] = tl.Description
				}
			}
			res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "read_document", Arguments: map[string]any{"id": "faq"}})
			if err != nil || res.IsError || !strings.Contains(res.Content[0].(*mcp.TextContent).Text, "ship") {
				t.Fatalf("read_document: %v %+v", err, res)
			}
			// The server trusts its arguments: validation is the guard's job.
			res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "refund_order", Arguments: map[string]any{"order_id": "x", "amount": -1}})
			if err != nil || res.IsError {
				t.Fatalf("refund_order: %v %+v", err, res)
			}
		})
	}
	if descs["normal"] == descs["rugpull"] || descs["normal"] == descs["poison"] {
		t.Fatalf("variants serve the same description: %q", descs)
	}
	if err := exec.Command(bin, "-variant", "bogus").Run(); err == nil {
		t.Fatal("unknown variant accepted")
	}
}
