package scope

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxPolicySize bounds a policy file.
const maxPolicySize = 1 << 20

// Load reads, validates and compiles the YAML policy file at name. See [Parse].
func Load(name string) (*Policy, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("scope: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPolicySize+1))
	if err != nil {
		return nil, fmt.Errorf("scope: reading %s: %w", name, err)
	}
	return Parse(name, data)
}

// Parse validates and compiles a YAML policy; name is used in error messages.
// Unknown fields, wrong types, duplicate keys, more than one document, roles
// without an explicit inherits, tools referenced but not declared, invalid CEL
// conditions and empty roles are errors; every problem is reported as a
// [*SpecError] with the file and line (joined with [errors.Join]).
func Parse(name string, data []byte) (*Policy, error) {
	spec, root, err := parseSpec(name, data)
	if err != nil {
		return nil, err
	}
	p, probs := compile(spec)
	probs = append(probs, checkExplicitInherits(root, spec)...)
	if len(probs) > 0 {
		return nil, fileErrors(name, root, probs)
	}
	return p, nil
}

// fileErrors turns problems into SpecErrors with lines, ordered by line.
func fileErrors(name string, root *yaml.Node, probs []problem) error {
	errs := make([]*SpecError, len(probs))
	for i, pr := range probs {
		errs[i] = &SpecError{File: name, Line: lineOf(root, pr.path), Path: pr.path.String(), Msg: pr.msg}
	}
	slices.SortStableFunc(errs, func(a, b *SpecError) int { return a.Line - b.Line })
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return errors.Join(out...)
}

// ParseSpec decodes a YAML policy into a [Spec] without compiling it, with the
// same strictness as [Parse].
func ParseSpec(name string, data []byte) (Spec, error) {
	spec, root, err := parseSpec(name, data)
	if err != nil {
		return Spec{}, err
	}
	if probs := checkExplicitInherits(root, spec); len(probs) > 0 {
		return Spec{}, fileErrors(name, root, probs)
	}
	return spec, nil
}

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

func parseSpec(name string, data []byte) (Spec, *yaml.Node, error) {
	var spec Spec
	if len(data) > maxPolicySize {
		return spec, nil, &SpecError{File: name, Msg: fmt.Sprintf("policy larger than %d bytes", maxPolicySize)}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return spec, nil, &SpecError{File: name, Msg: "empty policy"}
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		return spec, nil, yamlError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		line := extra.Line
		if err != nil {
			return spec, nil, yamlError(name, err)
		}
		return spec, nil, &SpecError{File: name, Line: line, Msg: "more than one YAML document"}
	}
	dec = yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&spec); err != nil {
		return spec, nil, yamlError(name, err)
	}
	return spec, &root, nil
}

// yamlError turns the yaml package's errors into SpecErrors with file:line.
func yamlError(name string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		errs := make([]error, 0, len(te.Errors))
		for _, e := range te.Errors {
			errs = append(errs, lineError(name, e))
		}
		return errors.Join(errs...)
	}
	return lineError(name, err.Error())
}

var goTypeRE = regexp.MustCompile(`in type scope\.(\w+)`)

func lineError(name, msg string) *SpecError {
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = goTypeRE.ReplaceAllStringFunc(msg, func(s string) string {
		return "in " + strings.ToLower(strings.TrimPrefix(s, "in type scope."))
	})
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return &SpecError{File: name, Line: n, Msg: m[2]}
	}
	return &SpecError{File: name, Msg: msg}
}

// checkExplicitInherits requires every role in a file to state inherits.
func checkExplicitInherits(root *yaml.Node, spec Spec) []problem {
	var probs []problem
	for _, name := range sortedKeys(spec.Roles) {
		n := nodeAt(root, path{"roles", name})
		if n == nil || n.Kind != yaml.MappingNode {
			continue
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "inherits" {
				found = true
			}
		}
		if !found {
			probs = append(probs, problem{path: path{"roles", name},
				msg: `role must state inherits explicitly (use "inherits: []" for none); roles never inherit implicitly`})
		}
	}
	return probs
}

// nodeAt walks root along p. It returns the deepest node found.
func nodeAt(root *yaml.Node, p path) *yaml.Node {
	n := root
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, e := range p {
		if n == nil {
			return nil
		}
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		switch v := e.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return n
			}
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == v {
					next = n.Content[i+1]
				}
			}
			if next == nil {
				return n
			}
			n = next
		case int:
			if n.Kind != yaml.SequenceNode || v >= len(n.Content) {
				return n
			}
			n = n.Content[v]
		}
	}
	return n
}

// lineOf returns the line of the element at p: the key's line when p ends in
// a mapping key, so that "roles.reader" points at "reader:".
func lineOf(root *yaml.Node, p path) int {
	if len(p) > 0 {
		if k, ok := p[len(p)-1].(string); ok {
			if parent := nodeAt(root, p[:len(p)-1]); parent != nil && parent.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(parent.Content); i += 2 {
					if parent.Content[i].Value == k {
						return parent.Content[i].Line
					}
				}
			}
		}
	}
	if n := nodeAt(root, p); n != nil {
		return n.Line
	}
	return 0
}
