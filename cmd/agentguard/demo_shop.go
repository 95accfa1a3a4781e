package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/agentguard/agentguard/agentloop"
	"github.com/agentguard/agentguard/guard"
)

// shop is the demo's in-memory back end: orders, documents, a knowledge base, and a
// record of every side effect so scenes can prove what did or did not happen.
type shop struct {
	mu        sync.Mutex
	orders    map[string]*order
	docs      map[string]string
	kb        []string
	sent      []sentEmail
	refunds   []string
	servers   []string
	inboxMail string
}

type order struct {
	ID     string  `json:"id"`
	Status string  `json:"status"`
	Total  float64 `json:"total"`
	Email  string  `json:"email"`
}

type sentEmail struct{ To, Subject, Body string }

func newShop() *shop {
	return &shop{
		orders: map[string]*order{
			"A-1001": {ID: "A-1001", Status: "shipped", Total: 59.90, Email: "dana@example.com"},
			"A-1002": {ID: "A-1002", Status: "processing", Total: 1240.00, Email: "lee@example.com"},
		},
		docs: map[string]string{
			"refund-policy.md": "Refunds are possible within 30 days of delivery. Refunds over 100 EUR need a manager.",
			"shipping.md":      "We ship within 2 working days. Tracking links are sent by e-mail.",
		},
		kb: []string{
			"How do I reset my password? Use the 'Forgot password' link on the sign-in page.",
			"Where is my order? Ask the agent with your order id; it can look up the status.",
			"Can I return an item? Yes, within 30 days; see refund-policy.md.",
		},
	}
}

func obj(props string, required ...string) json.RawMessage {
	req, _ := json.Marshal(required)
	return json.RawMessage(`{"type":"object","properties":{` + props + `},"required":` + string(req) + `,"additionalProperties":false}`)
}

// tools returns the six tools of the scenario over this shop.
func (s *shop) tools() []agentloop.Tool {
	return []agentloop.Tool{
		{Name: "read_document", Description: "Read a support document by path.",
			Parameters: obj(`"path":{"type":"string","maxLength":256}`, "path"), Handler: guard.HandlerFunc(s.readDocument)},
		{Name: "search_knowledge_base", Description: "Search the help-centre articles.",
			Parameters: obj(`"query":{"type":"string","maxLength":512}`, "query"), Handler: guard.HandlerFunc(s.searchKB)},
		{Name: "update_order_status", Description: "Set an order's status.",
			Parameters: obj(`"order_id":{"type":"string","pattern":"^[A-Z]-[0-9]{4}$"},"status":{"type":"string","enum":["processing","shipped","delivered","cancelled"]}`, "order_id", "status"),
			Handler:    guard.HandlerFunc(s.updateOrder)},
		{Name: "send_email", Description: "Send an e-mail to a customer.",
			Parameters: obj(`"to":{"type":"string","format":"email"},"subject":{"type":"string","maxLength":200},"body":{"type":"string","maxLength":5000}`, "to", "subject", "body"),
			Handler:    guard.HandlerFunc(s.sendEmail)},
		{Name: "refund_order", Description: "Refund an order, in full or in part.",
			Parameters: obj(`"order_id":{"type":"string","pattern":"^[A-Z]-[0-9]{4}$"},"amount":{"type":"number","exclusiveMinimum":0}`, "order_id", "amount"),
			Handler:    guard.HandlerFunc(s.refund)},
		{Name: "provision_server", Description: "Provision a server for a customer workload.",
			Parameters: obj(`"size":{"type":"string","enum":["small","medium","large"]},"region":{"type":"string","maxLength":32}`, "size", "region"),
			Handler:    guard.HandlerFunc(s.provision)},
	}
}

// tool returns the named tool of the scenario.
func (s *shop) tool(name string) agentloop.Tool {
	for _, t := range s.tools() {
		if t.Name == name {
			return t
		}
	}
	panic("demo: no tool " + name)
}

// subset returns the named tools.
func (s *shop) subset(names ...string) []agentloop.Tool {
	var out []agentloop.Tool
	for _, n := range names {
		out = append(out, s.tool(n))
	}
	return out
}

func decode(c *guard.Call, v any) error {
	if err := json.Unmarshal(c.Args, v); err != nil {
		return fmt.Errorf("%s: bad arguments: %w", c.Tool, err)
	}
	return nil
}

func (s *shop) readDocument(_ context.Context, c *guard.Call) (*guard.Result, error) {
	var a struct{ Path string }
	if err := decode(c, &a); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.Path == "inbox/latest.eml" && s.inboxMail != "" {
		return &guard.Result{Content: s.inboxMail, Labels: []string{guard.LabelUntrusted}}, nil
	}
	doc, ok := s.docs[a.Path]
	if !ok {
		return nil, fmt.Errorf("no document %q", a.Path)
	}
	return &guard.Result{Content: doc}, nil
}

func (s *shop) searchKB(_ context.Context, c *guard.Call) (*guard.Result, error) {
	var a struct{ Query string }
	if err := decode(c, &a); err != nil {
		return nil, err
	}
	var hits []string
	for _, art := range s.kb {
		for _, w := range strings.Fields(strings.ToLower(a.Query)) {
			if len(w) > 3 && strings.Contains(strings.ToLower(art), w) {
				hits = append(hits, art)
				break
			}
		}
	}
	if len(hits) == 0 {
		return &guard.Result{Content: "No articles found."}, nil
	}
	return &guard.Result{Content: strings.Join(hits, "\n")}, nil
}

func (s *shop) updateOrder(_ context.Context, c *guard.Call) (*guard.Result, error) {
	var a struct {
		OrderID string `json:"order_id"`
		Status  string
	}
	if err := decode(c, &a); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[a.OrderID]
	if !ok {
		return nil, fmt.Errorf("no order %q", a.OrderID)
	}
	o.Status = a.Status
	return &guard.Result{Content: fmt.Sprintf("Order %s is now %s.", o.ID, o.Status)}, nil
}

func (s *shop) sendEmail(_ context.Context, c *guard.Call) (*guard.Result, error) {
	var a struct{ To, Subject, Body string }
	if err := decode(c, &a); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, sentEmail{a.To, a.Subject, a.Body})
	return &guard.Result{Content: "E-mail sent to " + a.To + "."}, nil
}

func (s *shop) refund(_ context.Context, c *guard.Call) (*guard.Result, error) {
	var a struct {
		OrderID string `json:"order_id"`
		Amount  float64
	}
	if err := decode(c, &a); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.orders[a.OrderID]; !ok {
		return nil, fmt.Errorf("no order %q", a.OrderID)
	}
	s.refunds = append(s.refunds, a.OrderID)
	return &guard.Result{Content: fmt.Sprintf("Refunded %.2f EUR on order %s.", a.Amount, a.OrderID)}, nil
}

func (s *shop) provision(_ context.Context, c *guard.Call) (*guard.Result, error) {
	var a struct{ Size, Region string }
	if err := decode(c, &a); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := fmt.Sprintf("srv-%d", len(s.servers)+1)
	s.servers = append(s.servers, id)
	return &guard.Result{Content: fmt.Sprintf("Server %s (%s) provisioned in %s.", id, a.Size, a.Region)}, nil
}

// sideEffects summarises what the tools did, for scenes to check.
func (s *shop) sideEffects() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var to []string
	for _, m := range s.sent {
		to = append(to, m.To)
	}
	sort.Strings(to)
	return fmt.Sprintf("refunds=%v emails=%v servers=%v", s.refunds, to, s.servers)
}
