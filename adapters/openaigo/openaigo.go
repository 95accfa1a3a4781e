// Package openaigo runs agentguard's guarded tool-call loop (package agentloop) on
// the official OpenAI Go client, github.com/openai/openai-go.
//
// [NewClient] turns an *openai.Client into an agentloop.Client: the loop, its guard
// chain, its role-separated messages and its bounds are exactly those of agentloop;
// only the wire client changes. Every tool call the model makes through the official
// client goes through the chain, and a denial comes back to the model as a tool
// message it can read.
//
// It is its own Go module so that users of the core module do not pull in the
// official client.
package openaigo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"
	goopenai "github.com/sashabaranov/go-openai"

	"github.com/agentguard/agentguard/agentloop"
)

// Client adapts the official client to agentloop.Client.
type Client struct {
	c *openai.Client
}

var _ agentloop.Client = (*Client)(nil)

// NewClient returns an agentloop.Client backed by c.
func NewClient(c *openai.Client) (*Client, error) {
	if c == nil {
		return nil, errors.New("openaigo: nil client")
	}
	return &Client{c: c}, nil
}

// CreateChatCompletion sends req through the official client and converts the
// answer back.
func (a *Client) CreateChatCompletion(ctx context.Context, req goopenai.ChatCompletionRequest) (goopenai.ChatCompletionResponse, error) {
	params, err := toParams(req)
	if err != nil {
		return goopenai.ChatCompletionResponse{}, err
	}
	resp, err := a.c.Chat.Completions.New(ctx, params)
	if err != nil {
		return goopenai.ChatCompletionResponse{}, fmt.Errorf("openaigo: %w", err)
	}
	return fromCompletion(resp), nil
}

func toParams(req goopenai.ChatCompletionRequest) (openai.ChatCompletionNewParams, error) {
	p := openai.ChatCompletionNewParams{Model: shared.ChatModel(req.Model)}
	for i, m := range req.Messages {
		switch m.Role {
		case goopenai.ChatMessageRoleSystem:
			p.Messages = append(p.Messages, openai.SystemMessage(m.Content))
		case goopenai.ChatMessageRoleUser:
			p.Messages = append(p.Messages, openai.UserMessage(m.Content))
		case goopenai.ChatMessageRoleTool:
			p.Messages = append(p.Messages, openai.ToolMessage(m.Content, m.ToolCallID))
		case goopenai.ChatMessageRoleAssistant:
			am := openai.ChatCompletionAssistantMessageParam{}
			if m.Content != "" {
				am.Content.OfString = openai.String(m.Content)
			}
			for _, tc := range m.ToolCalls {
				am.ToolCalls = append(am.ToolCalls, openai.ChatCompletionMessageToolCallUnionParam{
					OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
						ID:       tc.ID,
						Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: tc.Function.Name, Arguments: tc.Function.Arguments},
					},
				})
			}
			p.Messages = append(p.Messages, openai.ChatCompletionMessageParamUnion{OfAssistant: &am})
		default:
			return p, fmt.Errorf("openaigo: message %d: unsupported role %q", i, m.Role)
		}
	}
	for _, t := range req.Tools {
		if t.Function == nil {
			continue
		}
		var params shared.FunctionParameters
		raw, err := json.Marshal(t.Function.Parameters)
		if err != nil {
			return p, fmt.Errorf("openaigo: tool %q: %w", t.Function.Name, err)
		}
		if err := json.Unmarshal(raw, &params); err != nil {
			return p, fmt.Errorf("openaigo: tool %q: parameters must be a JSON object: %w", t.Function.Name, err)
		}
		p.Tools = append(p.Tools, openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name: t.Function.Name, Description: openai.String(t.Function.Description), Parameters: params,
		}))
	}
	return p, nil
}

func fromCompletion(c *openai.ChatCompletion) goopenai.ChatCompletionResponse {
	out := goopenai.ChatCompletionResponse{ID: c.ID, Model: c.Model}
	for _, ch := range c.Choices {
		msg := goopenai.ChatCompletionMessage{Role: goopenai.ChatMessageRoleAssistant, Content: ch.Message.Content}
		for _, tc := range ch.Message.ToolCalls {
			if tc.Type != "function" {
				// Custom tools are not offered by the loop; a model that calls one
				// gets a denial for an unknown tool.
				msg.ToolCalls = append(msg.ToolCalls, goopenai.ToolCall{ID: tc.ID, Type: goopenai.ToolTypeFunction,
					Function: goopenai.FunctionCall{Name: "custom:" + tc.Custom.Name, Arguments: "{}"}})
				continue
			}
			msg.ToolCalls = append(msg.ToolCalls, goopenai.ToolCall{ID: tc.ID, Type: goopenai.ToolTypeFunction,
				Function: goopenai.FunctionCall{Name: tc.Function.Name, Arguments: tc.Function.Arguments}})
		}
		out.Choices = append(out.Choices, goopenai.ChatCompletionChoice{Index: int(ch.Index), Message: msg,
			FinishReason: goopenai.FinishReason(ch.FinishReason)})
	}
	return out
}
