package samtemplate

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/codexgate/codexgate/shared/metrics"
)

// emitted is every metric package metrics writes, by name, with the
// dimension sets it is written with (doc.go): what a dashboard widget may
// ask for. A widget on any other name or dimension set shows nothing.
var emitted = map[string][]string{ // name → dimension sets, each joined with ","
	metrics.UsedPercent:           {metrics.DimAccount + "," + metrics.DimWindow},
	metrics.LimitReached:          {metrics.DimAccount},
	metrics.AccountsLimited:       {""},
	metrics.QuotaFailures:         {""},
	metrics.Refreshes:             {""},
	metrics.RefreshFailures:       {""},
	metrics.ReauthRequired:        {""},
	metrics.RotatedTokenNotStored: {""},
	metrics.LeaseOutlived:         {""},
	metrics.Requests:              {"", metrics.DimKey},
	metrics.InputTokens:           {"", metrics.DimKey},
	metrics.CachedInputTokens:     {"", metrics.DimKey},
	metrics.OutputTokens:          {"", metrics.DimKey},
	metrics.ReasoningTokens:       {"", metrics.DimKey},
	metrics.BudgetRefused:         {metrics.DimKey},
	metrics.NoAccountAvailable:    {""},
}

// dashboardWidget is the part of a widget the tests read.
type dashboardWidget struct {
	Type       string `json:"type"`
	Properties struct {
		Title    string  `json:"title"`
		Markdown string  `json:"markdown"`
		Region   string  `json:"region"`
		Alarms   []any   `json:"alarms"`
		Metrics  [][]any `json:"metrics"`
	} `json:"properties"`
}

// dashboardBody returns the Dashboard's body with every ${...} reference
// replaced by "<ref>" (and the Sub variables by name), decoded, and the
// raw template string.
func dashboardBody(t *testing.T, c *cfn) ([]dashboardWidget, string, map[string]any) {
	t.Helper()
	d := c.resource(t, "Dashboard", "AWS::CloudWatch::Dashboard").Properties
	if got := str(d["DashboardName"]); got != "Ref:AWS::StackName" {
		t.Errorf("DashboardName = %s, want the stack's name", got)
	}
	sub, _ := path(d, "DashboardBody", "Fn::Sub").([]any)
	if len(sub) != 2 {
		t.Fatalf("DashboardBody = %s, want !Sub [body, variables]", str(d["DashboardBody"]))
	}
	raw, _ := sub[0].(string)
	vars, _ := sub[1].(map[string]any)
	// A reference becomes a plain word: inside JSON strings it keeps the
	// body valid JSON, as CloudFormation's substitution must.
	body := regexp.MustCompile(`\$\{([^}!]+)\}`).ReplaceAllString(raw, "<$1>")
	var doc struct {
		Widgets []dashboardWidget `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("DashboardBody is not JSON once substituted: %v\n%s", err, body)
	}
	return doc.Widgets, raw, vars
}

var searchExpr = regexp.MustCompile(`^SEARCH\('\{([^}]*)\} MetricName="([^"]+)"', '(\w+)', (\d+)\)$`)

// TestTemplate_Dashboard_WatchesEmittedMetrics: every codexgate metric the
// dashboard draws is one package metrics emits, with the dimensions it is
// emitted with (a renamed metric or dimension fails here), and the widgets
// the operator needs are there: requests and tokens (totals, and per key
// when DetailedMetrics is on), used % per account, refreshes and failures,
// budget refusals, the 503s, and the API's 4xx/5xx and latency.
func TestTemplate_Dashboard_WatchesEmittedMetrics(t *testing.T) {
	c := transformed(t)
	widgets, _, _ := dashboardBody(t, c)
	drawn := map[string]bool{} // "Name" or "Name/Dim,Dim" → drawn
	apiMetrics := map[string]bool{}
	api := c.resource(t, "Api", "AWS::ApiGateway::RestApi").Properties
	apiName := "<" + strings.TrimSuffix(strings.TrimPrefix(str(api["Name"]), "Sub:${"), "}-api") + ">-api"
	for _, w := range widgets {
		if w.Type != "metric" {
			continue
		}
		if w.Properties.Region != "<AWS::Region>" {
			t.Errorf("widget %q region = %q, want ${AWS::Region}", w.Properties.Title, w.Properties.Region)
		}
		for _, m := range w.Properties.Metrics {
			if len(m) == 0 {
				t.Errorf("widget %q has an empty metric", w.Properties.Title)
				continue
			}
			if opts, ok := m[0].(map[string]any); ok { // an expression
				expr, _ := opts["expression"].(string)
				sm := searchExpr.FindStringSubmatch(expr)
				if sm == nil {
					t.Errorf("widget %q: expression %q is not a SEARCH of one metric", w.Properties.Title, expr)
					continue
				}
				schema := strings.Split(sm[1], ",")
				if schema[0] != metrics.Namespace {
					t.Errorf("widget %q searches namespace %q", w.Properties.Title, schema[0])
				}
				dims := strings.Join(schema[1:], ",")
				if !slices.Contains(emitted[sm[2]], dims) {
					t.Errorf("widget %q searches %s with dimensions [%s]: package metrics emits it with %q", w.Properties.Title, sm[2], dims, emitted[sm[2]])
				}
				drawn[sm[2]+"/"+dims] = true
				continue
			}
			ns, _ := m[0].(string)
			name, _ := m[1].(string)
			var dims []string
			dimValues := map[string]string{}
			for i := 2; i+1 < len(m); i += 2 {
				k, ok1 := m[i].(string)
				v, ok2 := m[i+1].(string)
				if !ok1 || !ok2 {
					break
				}
				dims = append(dims, k)
				dimValues[k] = v
			}
			switch ns {
			case metrics.Namespace:
				key := strings.Join(dims, ",")
				if !slices.Contains(emitted[name], key) {
					t.Errorf("widget %q draws %s with dimensions [%s]: package metrics emits it with %q", w.Properties.Title, name, key, emitted[name])
				}
				drawn[name+"/"+key] = true
			case "AWS/ApiGateway":
				// The API's fixed name and the stage, as ProxyErrorsAlarm.
				if dimValues["ApiName"] != apiName || dimValues["Stage"] != "<StageName>" || len(dims) != 2 {
					t.Errorf("widget %q: API metric %s dimensions %v, want ApiName %s and Stage ${StageName}", w.Properties.Title, name, dimValues, apiName)
				}
				apiMetrics[name] = true
			case "AWS/Lambda":
				if fn := dimValues["FunctionName"]; !slices.Contains([]string{"<ProxyFunction>", "<QuotaCronFunction>", "<RefreshFunction>"}, fn) {
					t.Errorf("widget %q: Lambda metric %s of %q, not one of the stack's functions", w.Properties.Title, name, fn)
				}
			default:
				t.Errorf("widget %q: unexpected namespace %q", w.Properties.Title, ns)
			}
		}
	}
	for _, want := range []string{
		metrics.Requests + "/", metrics.Requests + "/" + metrics.DimKey,
		metrics.InputTokens + "/", metrics.OutputTokens + "/",
		metrics.InputTokens + "/" + metrics.DimKey, metrics.OutputTokens + "/" + metrics.DimKey,
		metrics.UsedPercent + "/" + metrics.DimAccount + "," + metrics.DimWindow,
		metrics.Refreshes + "/", metrics.RefreshFailures + "/", metrics.ReauthRequired + "/",
		metrics.BudgetRefused + "/" + metrics.DimKey,
		metrics.NoAccountAvailable + "/", metrics.QuotaFailures + "/",
	} {
		if !drawn[want] {
			t.Errorf("the dashboard does not draw %s", want)
		}
	}
	for _, want := range []string{"Count", "4XXError", "5XXError", "Latency"} {
		if !apiMetrics[want] {
			t.Errorf("the dashboard does not draw the API's %s", want)
		}
	}
}

// TestTemplate_Dashboard_ShowsEveryAlarmAndSaysHowToEnableDetail: the alarm
// widget lists every alarm of the template; the text widget says whether
// the per-key and per-account widgets can fill in, and how to turn them on;
// the stack outputs the dashboard's console URL.
func TestTemplate_Dashboard_ShowsEveryAlarmAndSaysHowToEnableDetail(t *testing.T) {
	c := transformed(t)
	widgets, _, vars := dashboardBody(t, c)
	var shown []string
	var text string
	for _, w := range widgets {
		switch w.Type {
		case "alarm":
			for _, a := range w.Properties.Alarms {
				shown = append(shown, fmt.Sprint(a))
			}
		case "text":
			text += w.Properties.Markdown
		}
	}
	var want []string
	for _, id := range c.ofType("AWS::CloudWatch::Alarm") {
		want = append(want, "<"+id+".Arn>")
	}
	slices.Sort(shown)
	if !slices.Equal(shown, want) {
		t.Errorf("alarm widget shows %v, want every alarm %v", shown, want)
	}
	if !strings.Contains(text, "<DetailNote>") {
		t.Errorf("text widget does not say whether DetailedMetrics is on:\n%s", text)
	}
	note := str(vars["DetailNote"])
	if !strings.HasPrefix(note, `{"Fn::If":["DetailedMetricsOn",`) || !strings.Contains(note, "PARAMS=DetailedMetrics=true") {
		t.Errorf("DetailNote = %s, want an If on DetailedMetricsOn that says how to turn it on", note)
	}
	if got := str(c.Conditions["DetailedMetricsOn"]); got != `{"Fn::Equals":[{"Ref":"DetailedMetrics"},"true"]}` {
		t.Errorf("DetailedMetricsOn = %s", got)
	}
	url := str(c.Outputs["DashboardUrl"]["Value"])
	if !strings.Contains(url, "console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}#dashboards/dashboard/${Dashboard}") {
		t.Errorf("DashboardUrl = %s", url)
	}
}
