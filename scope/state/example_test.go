package state_test

import (
	"context"
	"fmt"
	"time"

	"github.com/agentguard/agentguard/scope/state"
)

func ExampleMemory_Add() {
	s := state.NewMemory()
	ctx := context.Background()
	now := time.Now()
	for i := range 4 {
		total, ok, err := s.Add(ctx, state.Key("calls", "alice"), 1, 3, time.Minute, now)
		fmt.Println(i, total, ok, err)
	}
	// Output:
	// 0 1 true <nil>
	// 1 2 true <nil>
	// 2 3 true <nil>
	// 3 3 false <nil>
}

func ExampleCanonicalJSON() {
	c, err := state.CanonicalJSON([]byte(`{ "b": 1, "a": "\u0078" }`))
	fmt.Println(string(c), err)
	_, err = state.CanonicalJSON([]byte(`{"amount": 10, "Amount": 10000}`))
	fmt.Println(err)
	// Output:
	// {"a":"x","b":1} <nil>
	// state: canonical JSON: state: duplicate JSON key "Amount"
}

func ExampleKey() {
	fmt.Println(state.Key("budget", "a|b", "c"))
	fmt.Println(state.Key("budget", "a", "b|c"))
	// Output:
	// 6:budget|3:a|b|1:c
	// 6:budget|1:a|3:b|c
}
