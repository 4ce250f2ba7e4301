package helm

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/strvals"

	"github.com/kubeharden/kubeharden/inventory"
)

// values merges the user-supplied values the way helm does: values files
// in order, then --set, then --set-string. The chart's own defaults are
// coalesced under them later, at render time.
func (r *Renderer) values() (common.Values, *inventory.Error) {
	base := map[string]any{}
	for _, f := range r.opts.ValuesFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, &inventory.Error{File: f, Message: fmt.Sprintf("cannot read values file: %v", unwrapPathError(err))}
		}
		vals, err := common.ReadValues(data)
		if err != nil {
			line, msg := yamlErrorLine(err.Error())
			return nil, &inventory.Error{File: f, Line: line, Message: "invalid values file: " + msg}
		}
		base = mergeMaps(base, vals)
	}
	for _, s := range r.opts.Set {
		if err := strvals.ParseInto(s, base); err != nil {
			return nil, &inventory.Error{File: "--set", Message: fmt.Sprintf("cannot parse %q: %v", s, err)}
		}
	}
	for _, s := range r.opts.SetString {
		if err := strvals.ParseIntoString(s, base); err != nil {
			return nil, &inventory.Error{File: "--set-string", Message: fmt.Sprintf("cannot parse %q: %v", s, err)}
		}
	}
	return base, nil
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

var yamlErrLine = regexp.MustCompile(`yaml: line (\d+): `)

// yamlErrorLine pulls the line out of a YAML error message.
func yamlErrorLine(msg string) (int, string) {
	if m := yamlErrLine.FindStringSubmatchIndex(msg); m != nil {
		if n, err := strconv.Atoi(msg[m[2]:m[3]]); err == nil {
			return n, msg[m[1]:]
		}
	}
	return 0, msg
}

// mergeMaps merges b over a, recursing into maps both hold, as helm's
// values merging does.
func mergeMaps(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if vm, ok := v.(map[string]any); ok {
			if om, ok := out[k].(map[string]any); ok {
				out[k] = mergeMaps(om, vm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// validateSchemas checks the coalesced values against the chart's
// values.schema.json and those of its subcharts, as Helm does, except
// that schemas referenced over the network are not fetched: those
// references accept anything.
func validateSchemas(ch *chart.Chart, values map[string]any) error {
	var problems []string
	if len(ch.Schema) > 0 {
		if err := validateSchema(values, ch.Schema); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", ch.Name(), err))
		}
	}
	for _, sub := range ch.Dependencies() {
		raw, ok := values[sub.Name()]
		if !ok || raw == nil {
			continue
		}
		sv, ok := raw.(map[string]any)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: values are a %T, not a map", sub.Name(), raw))
			continue
		}
		if err := validateSchemas(sub, sv); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

// permissive answers every remote schema reference with the schema that
// accepts anything.
type permissive struct{}

func (permissive) Load(string) (any, error) { return true, nil }

func validateSchema(values map[string]any, schemaJSON []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot validate against the schema: %v", r)
		}
	}()
	schema, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return fmt.Errorf("invalid values.schema.json: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(jsonschema.SchemeURLLoader{
		"file":  jsonschema.FileLoader{},
		"http":  permissive{},
		"https": permissive{},
		"urn":   permissive{},
	})
	if err := c.AddResource("file:///values.schema.json", schema); err != nil {
		return err
	}
	v, err := c.Compile("file:///values.schema.json")
	if err != nil {
		return fmt.Errorf("invalid values.schema.json: %v", err)
	}
	if err := v.Validate(values); err != nil {
		return fmt.Errorf("%s", strings.Join(strings.Fields(err.Error()), " "))
	}
	return nil
}
