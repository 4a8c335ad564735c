package samtemplate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/codexgate/codexgate/internal/testsupport"
)

// exitNoTranslator is transform.py's exit status when samtranslator cannot
// be imported.
const exitNoTranslator = 3

// cfn is a CloudFormation template as decoded JSON.
type cfn struct {
	Metadata   map[string]any
	Rules      map[string]any
	Conditions map[string]any
	Parameters map[string]map[string]any
	Resources  map[string]resource
	Outputs    map[string]map[string]any
}

type resource struct {
	Type                string
	Condition           string
	DependsOn           any
	Properties          map[string]any
	Metadata            map[string]any
	DeletionPolicy      string
	UpdateReplacePolicy string
}

var transformOnce struct {
	sync.Once
	tmpl *cfn
	raw  []byte // the transform's JSON output
	skip string // why the transform cannot run here
	err  error
}

// transformed returns template.yaml after the SAM transform, computed once
// per test binary.
func transformed(t *testing.T) *cfn {
	t.Helper()
	o := &transformOnce
	o.Do(func() { o.tmpl, o.raw, o.skip, o.err = runTransform(testsupport.RepoRoot(t)) })
	switch {
	case o.err != nil:
		t.Fatal(o.err)
	case o.skip != "" && os.Getenv("CI") == "true":
		t.Fatal(o.skip + " (CI=true: a missing translator is a failure)")
	case o.skip != "":
		t.Skip(o.skip)
	}
	return o.tmpl
}

// transformedJSON returns the transform's output as it printed it.
func transformedJSON(t *testing.T) []byte {
	t.Helper()
	transformed(t)
	return transformOnce.raw
}

func runTransform(root string) (*cfn, []byte, string, error) {
	python, err := exec.LookPath("python3")
	if err != nil {
		return nil, nil, "python3 not found: install it and `pip install aws-sam-translator` to run the template tests", nil
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(python, filepath.Join("testdata", "transform.py"), filepath.Join(root, "template.yaml"))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) && ee.ExitCode() == exitNoTranslator {
		return nil, nil, strings.TrimSpace(stderr.String()) + ": `pip install aws-sam-translator` to run the template tests", nil
	}
	if err != nil {
		return nil, nil, "", fmt.Errorf("transform template.yaml: %v\n%s", err, stderr.String())
	}
	var c cfn
	if err := json.Unmarshal(stdout.Bytes(), &c); err != nil {
		return nil, nil, "", fmt.Errorf("decode transformed template: %v", err)
	}
	return &c, stdout.Bytes(), "", nil
}

// resource returns the resource named id, checking its type.
func (c *cfn) resource(t *testing.T, id, typ string) resource {
	t.Helper()
	r, ok := c.Resources[id]
	if !ok {
		t.Fatalf("no resource %s in the transformed template", id)
	}
	if r.Type != typ {
		t.Fatalf("%s is a %s, want %s", id, r.Type, typ)
	}
	return r
}

// ofType returns the ids of every resource of type typ, sorted.
func (c *cfn) ofType(typ string) []string {
	var ids []string
	for id, r := range c.Resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// str renders a CloudFormation value compactly for comparisons:
// "text", {"Ref":"X"} → "Ref:X", {"Fn::GetAtt":["X","Arn"]} → "GetAtt:X.Arn",
// {"Fn::Sub":"s"} → "Sub:s"; anything else as JSON.
func str(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		if len(v) == 1 {
			if ref, ok := v["Ref"].(string); ok {
				return "Ref:" + ref
			}
			if ga, ok := v["Fn::GetAtt"].([]any); ok && len(ga) == 2 {
				return fmt.Sprintf("GetAtt:%v.%v", ga[0], ga[1])
			}
			if sub, ok := v["Fn::Sub"].(string); ok {
				return "Sub:" + sub
			}
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// strs renders a string or a list of values with str.
func strs(v any) []string {
	if l, ok := v.([]any); ok {
		out := make([]string, len(l))
		for i, x := range l {
			out[i] = str(x)
		}
		return out
	}
	if v == nil {
		return nil
	}
	return []string{str(v)}
}

// path walks nested maps: path(m, "a", "b") is m["a"]["b"], or nil.
func path(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
