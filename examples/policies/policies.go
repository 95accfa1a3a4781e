// Package policies embeds the reference policies shipped with agentguard, so
// that programs and tests can use them without reading files at run time.
package policies

import _ "embed"

// SupportYAML is examples/policies/support.yaml: the customer-support policy
// with the reader, operator and admin roles of the scope package's reference
// table. Load it with scope.Parse("support.yaml", policies.SupportYAML).
//
//go:embed support.yaml
var SupportYAML []byte
