package samtemplate

import (
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/codexgate/codexgate/shared/metrics"
)

// secretPrefixARN is the only secret resource any function may touch.
const secretPrefixARN = "Sub:arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${SecretPrefix}*"

// tableARN is the table every function may touch: the stack's own, or
// ExistingTableName's (TestTemplate_Table_ExistingOrCreated).
const tableARN = `{"Fn::Sub":["arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${Name}",{"Name":{"Fn::If":["CreateTable",{"Ref":"Table"},{"Ref":"ExistingTableName"}]}}]}`

// proxyWritableKeys are the only partitions the proxy may update
// (dynamodb:LeadingKeys): account state ("accounts", package statestore),
// leases ("lease#<key>", package dynamolease), per-key usage counters
// ("usage#<day>", package statestore) and refresh events ("events", for the
// operator console). Not "apikeys": a compromised proxy must not un-revoke
// a key.
const proxyWritableKeys = `{"ForAllValues:StringLike":{"dynamodb:LeadingKeys":["accounts","lease#*","usage#*","events"]}}`

// The secret calls of the refresh routine, which every function runs:
// GetSecretValue (current version, a pending version), PutSecretValue (the
// rotated token as a CODEXGATE_PENDING version), UpdateSecretVersionStage
// (promote with compare-and-swap), DescribeSecret (why a promote failed).
// CreateSecret is only for `codexgate import`/`login`, run by an operator.
var refreshSecretCalls = []string{
	"secretsmanager:DescribeSecret",
	"secretsmanager:GetSecretValue",
	"secretsmanager:PutSecretValue",
	"secretsmanager:UpdateSecretVersionStage",
}

// statement is one IAM statement: Allow actions on resources, under a
// condition (JSON, empty for none).
type statement struct {
	actions   []string
	resources []string
	condition string
}

// function is one Lambda function as the template must deploy it.
type function struct {
	id       string // logical id
	name     string // functions/<name>/, built by `make build` into build/<name>/bootstrap
	role     string
	logGroup string
	timeout  float64
	env      map[string]string // beyond the shared CODEXGATE_* set
	policy   []statement       // exactly these, in any order
}

var functions = []function{
	{
		id: "ProxyFunction", name: "proxy", role: "ProxyRole", logGroup: "ProxyLogGroup", timeout: 900,
		env: map[string]string{"CODEXGATE_CLAUDE_MODELS": "Ref:ClaudeModels", "CODEXGATE_DETAILED_METRICS": "Ref:DetailedMetrics",
			"CODEXGATE_MODEL_ALIASES": "Ref:ModelAliases", "CODEXGATE_ROUTING_STRATEGY": "Ref:RoutingStrategy"},
		policy: []statement{
			{[]string{"logs:CreateLogStream", "logs:PutLogEvents"}, []string{"GetAtt:ProxyLogGroup.Arn"}, ""},
			{refreshSecretCalls, []string{secretPrefixARN}, ""},
			// GetItem: API keys, lease reads; Query: account states and
			// quotas; UpdateItem: lease, cooldowns, reauth marks, and only
			// on those partitions.
			{[]string{"dynamodb:GetItem", "dynamodb:Query"}, []string{tableARN}, ""},
			{[]string{"dynamodb:UpdateItem"}, []string{tableARN}, proxyWritableKeys},
		},
	},
	{
		id: "QuotaCronFunction", name: "quota-cron", role: "QuotaCronRole", logGroup: "QuotaCronLogGroup", timeout: 300,
		env: map[string]string{"CODEXGATE_DETAILED_METRICS": "Ref:DetailedMetrics"},
		policy: []statement{
			{[]string{"logs:CreateLogStream", "logs:PutLogEvents"}, []string{"GetAtt:QuotaCronLogGroup.Arn"}, ""},
			{refreshSecretCalls, []string{secretPrefixARN}, ""},
			// PutItem: quota snapshots.
			{[]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"}, []string{tableARN}, ""},
		},
	},
	{
		id: "RefreshFunction", name: "refresh", role: "RefreshRole", logGroup: "RefreshLogGroup", timeout: 300,
		env: map[string]string{"CODEXGATE_REFRESH_WINDOW": "Ref:RefreshWindow"},
		policy: []statement{
			{[]string{"logs:CreateLogStream", "logs:PutLogEvents"}, []string{"GetAtt:RefreshLogGroup.Arn"}, ""},
			{refreshSecretCalls, []string{secretPrefixARN}, ""},
			{[]string{"dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"}, []string{tableARN}, ""},
		},
	},
}

// sharedEnv is the configuration of docs/DESIGN.md §8.1 every function gets.
var sharedEnv = map[string]string{
	"CODEXGATE_TABLE":         `{"Fn::If":["CreateTable",{"Ref":"Table"},{"Ref":"ExistingTableName"}]}`,
	"CODEXGATE_SECRET_PREFIX": "Ref:SecretPrefix",
	"CODEXGATE_UPSTREAM_URL":  "Ref:UpstreamURL",
	"CODEXGATE_TOKEN_URL":     "Ref:TokenURL",
	"CODEXGATE_USAGE_URL":     "Ref:UsageURL",
}

func (s statement) String() string {
	a, r := slices.Sorted(slices.Values(s.actions)), slices.Sorted(slices.Values(s.resources))
	out := strings.Join(a, ",") + " on " + strings.Join(r, ",")
	if s.condition != "" {
		out += " if " + s.condition
	}
	return out
}

// policyStatements returns every statement of role's inline policies.
func policyStatements(t *testing.T, c *cfn, role string) []map[string]any {
	t.Helper()
	var out []map[string]any
	policies, _ := c.resource(t, role, "AWS::IAM::Role").Properties["Policies"].([]any)
	for _, p := range policies {
		sts, _ := path(p, "PolicyDocument", "Statement").([]any)
		for _, st := range sts {
			m, ok := st.(map[string]any)
			if !ok {
				t.Fatalf("%s: statement %v is not an object", role, st)
			}
			out = append(out, m)
		}
	}
	return out
}

func TestTemplate_ProxyMethod_Streams(t *testing.T) {
	c := transformed(t)
	api := c.resource(t, "Api", "AWS::ApiGateway::RestApi")
	if got := strs(path(api.Properties, "EndpointConfiguration", "Types")); !slices.Equal(got, []string{"REGIONAL"}) {
		t.Errorf("endpoint types = %v, want [REGIONAL] (edge-optimized streams idle out after 30 s)", got)
	}
	paths, _ := path(api.Properties, "Body", "paths").(map[string]any)
	if len(paths) != 2 || paths["/v1/{proxy+}"] == nil || paths["/status"] == nil {
		t.Fatalf("API paths = %v, want exactly /v1/{proxy+} and /status (the operator console's page)", keys(paths))
	}
	page, _ := paths["/status"].(map[string]any)
	if len(page) != 1 || page["get"] == nil {
		t.Fatalf("/status methods = %v, want GET only", keys(page))
	}
	if got := str(path(page, "get", "x-amazon-apigateway-integration", "uri")); !strings.Contains(got, "${ProxyFunction.Arn}/response-streaming-invocations") {
		t.Errorf("/status integration uri = %s, want the proxy's streaming invocation", got)
	}
	methods, _ := paths["/v1/{proxy+}"].(map[string]any)
	if len(methods) != 1 || methods["x-amazon-apigateway-any-method"] == nil {
		t.Fatalf("/v1/{proxy+} methods = %v, want ANY only", keys(methods))
	}
	integ, _ := path(methods, "x-amazon-apigateway-any-method", "x-amazon-apigateway-integration").(map[string]any)
	want := map[string]string{
		"type":                 "aws_proxy",
		"httpMethod":           "POST",
		"responseTransferMode": "STREAM",
		// InvokeWithResponseStream, not Invoke (2015-03-31/.../invocations).
		"uri": "Sub:arn:aws:apigateway:${AWS::Region}:lambda:path/2021-11-15/functions/${ProxyFunction.Arn}/response-streaming-invocations",
	}
	for k, v := range want {
		if got := str(integ[k]); got != v {
			t.Errorf("integration %s = %s, want %s", k, got, v)
		}
	}
	// A streamed turn may run as long as the function may.
	proxy := c.resource(t, "ProxyFunction", "AWS::Lambda::Function")
	if got, want := integ["timeoutInMillis"], proxy.Properties["Timeout"].(float64)*1000; got != want {
		t.Errorf("integration timeoutInMillis = %v, want %v (the proxy's Timeout)", got, want)
	}

	perm := c.resource(t, "ProxyFunctionV1PermissionStage", "AWS::Lambda::Permission")
	if got := str(perm.Properties["FunctionName"]); got != "Ref:ProxyFunction" {
		t.Errorf("API permission on %s, want the proxy", got)
	}
	if got := str(perm.Properties["Principal"]); got != "apigateway.amazonaws.com" {
		t.Errorf("API permission principal = %s", got)
	}
	if got := str(perm.Properties["Action"]); got != "lambda:InvokeFunction" { // covers InvokeWithResponseStream
		t.Errorf("API permission action = %s", got)
	}

	stage := c.resource(t, "ApiStage", "AWS::ApiGateway::Stage")
	if got := str(stage.Properties["StageName"]); got != "Ref:StageName" {
		t.Errorf("stage name = %s, want Ref:StageName", got)
	}
	if got := c.ofType("AWS::ApiGateway::Stage"); len(got) != 1 {
		t.Errorf("stages = %v, want only ApiStage", got)
	}
	url := str(path(c.Outputs["ApiUrl"], "Value"))
	if url != "Sub:https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${StageName}/v1" {
		t.Errorf("ApiUrl output = %s", url)
	}
}

func TestTemplate_FunctionPolicies_Exact(t *testing.T) {
	c := transformed(t)
	for _, f := range functions {
		t.Run(f.name, func(t *testing.T) {
			fn := c.resource(t, f.id, "AWS::Lambda::Function")
			if got := str(fn.Properties["Role"]); got != "GetAtt:"+f.role+".Arn" {
				t.Fatalf("Role = %s, want GetAtt:%s.Arn", got, f.role)
			}
			role := c.resource(t, f.role, "AWS::IAM::Role")
			if mp := role.Properties["ManagedPolicyArns"]; mp != nil {
				t.Errorf("ManagedPolicyArns = %v, want none (AWSLambdaBasicExecutionRole writes logs on Resource *)", mp)
			}
			trust := path(role.Properties, "AssumeRolePolicyDocument", "Statement").([]any)
			if len(trust) != 1 || str(path(trust[0], "Principal", "Service")) != "lambda.amazonaws.com" ||
				str(path(trust[0], "Action")) != "sts:AssumeRole" {
				t.Errorf("trust policy = %v, want lambda.amazonaws.com sts:AssumeRole only", trust)
			}
			var got, want []string
			for _, st := range policyStatements(t, c, f.role) {
				if e := str(st["Effect"]); e != "Allow" {
					t.Errorf("statement %v: Effect %s", st, e)
				}
				var cond string
				if st["Condition"] != nil {
					cond = str(st["Condition"])
				}
				got = append(got, statement{strs(st["Action"]), strs(st["Resource"]), cond}.String())
			}
			for _, st := range f.policy {
				want = append(want, st.String())
			}
			sort.Strings(got)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s statements:\n got  %s\n want %s", f.role, strings.Join(got, "\n      "), strings.Join(want, "\n      "))
			}
		})
	}
}

func TestTemplate_IAM_NoWildcards(t *testing.T) {
	c := transformed(t)
	var roles []string
	for _, f := range functions {
		roles = append(roles, f.role)
	}
	// ApiGatewayLogsRole is API Gateway's, not a function's:
	// TestTemplate_AccessLogs_NoSecrets checks it.
	want := slices.Sorted(slices.Values(append(slices.Clone(roles), "ApiGatewayLogsRole")))
	if got := c.ofType("AWS::IAM::Role"); !slices.Equal(got, want) {
		t.Errorf("IAM roles = %v, want exactly %v", got, want)
	}
	for _, typ := range []string{"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::User", "AWS::IAM::Group"} {
		if got := c.ofType(typ); len(got) > 0 {
			t.Errorf("unexpected %s: %v", typ, got)
		}
	}
	for _, role := range roles {
		for _, st := range policyStatements(t, c, role) {
			for _, k := range []string{"NotAction", "NotResource", "NotPrincipal"} {
				if st[k] != nil {
					t.Errorf("%s: %s in %v", role, k, st)
				}
			}
			actions, resources := strs(st["Action"]), strs(st["Resource"])
			for _, a := range actions {
				if strings.Contains(a, "*") {
					t.Errorf("%s: wildcard action %s", role, a)
				}
				if a == "secretsmanager:CreateSecret" || a == "secretsmanager:DeleteSecret" {
					t.Errorf("%s: %s is for operators (codexgate import/login), not functions", role, a)
				}
			}
			// The account list is the table's registry: no function lists
			// secrets, and nothing rides on Resource "*".
			if slices.Contains(actions, "secretsmanager:ListSecrets") {
				t.Errorf("%s: secretsmanager:ListSecrets; functions read the account registry in the table", role)
			}
			if slices.Contains(resources, "*") {
				t.Errorf("%s: Resource * for %v", role, actions)
			}
		}
	}
}

func TestTemplate_Functions_Config(t *testing.T) {
	c := transformed(t)
	if got, want := c.ofType("AWS::Lambda::Function"), []string{"ProxyFunction", "QuotaCronFunction", "RefreshFunction"}; !slices.Equal(got, want) {
		t.Fatalf("functions = %v, want %v", got, want)
	}
	for _, f := range functions {
		t.Run(f.name, func(t *testing.T) {
			p := c.resource(t, f.id, "AWS::Lambda::Function").Properties
			for k, want := range map[string]string{
				"Runtime":       "provided.al2023",
				"Handler":       "bootstrap",
				"Architectures": `["arm64"]`,
				"FunctionName":  "Sub:${AWS::StackName}-" + f.name,
			} {
				if got := str(p[k]); got != want {
					t.Errorf("%s = %s, want %s", k, got, want)
				}
			}
			if got := p["Timeout"]; got != f.timeout {
				t.Errorf("Timeout = %v, want %v", got, f.timeout)
			}
			vars, _ := path(p, "Environment", "Variables").(map[string]any)
			want := map[string]string{}
			for k, v := range sharedEnv {
				want[k] = v
			}
			for k, v := range f.env {
				want[k] = v
			}
			if len(vars) != len(want) {
				t.Errorf("environment = %v, want %v", keys(vars), keys(want))
			}
			for k, v := range want {
				if got := str(vars[k]); got != v {
					t.Errorf("env %s = %s, want %s", k, got, v)
				}
			}
			// The function logs to the group its role may write, which has a
			// retention: Lambda's default group name for the function name.
			lg := c.resource(t, f.logGroup, "AWS::Logs::LogGroup").Properties
			if got, want := str(lg["LogGroupName"]), "Sub:/aws/lambda/${AWS::StackName}-"+f.name; got != want {
				t.Errorf("log group name = %s, want %s", got, want)
			}
			if got := str(lg["RetentionInDays"]); got != "Ref:LogRetentionDays" {
				t.Errorf("log retention = %s, want Ref:LogRetentionDays", got)
			}
		})
	}
	if got := str(c.Parameters["LogRetentionDays"]["Default"]); got != "30" {
		t.Errorf("LogRetentionDays default = %s, want 30", got)
	}
}

func TestTemplate_Schedules_FromParameters(t *testing.T) {
	c := transformed(t)
	want := map[string]struct{ param, def string }{ // target function → schedule
		"QuotaCronFunction": {"QuotaRate", "rate(15 minutes)"},
		"RefreshFunction":   {"RefreshRate", "rate(1 hour)"},
	}
	seen := map[string]bool{}
	for _, id := range c.ofType("AWS::Events::Rule") {
		p := c.Resources[id].Properties
		targets, _ := p["Targets"].([]any)
		if len(targets) != 1 {
			t.Errorf("rule %s: %d targets, want 1", id, len(targets))
			continue
		}
		fn := strings.TrimSuffix(strings.TrimPrefix(str(path(targets[0], "Arn")), "GetAtt:"), ".Arn")
		w, ok := want[fn]
		if !ok {
			t.Errorf("rule %s targets %s, which has no schedule", id, fn)
			continue
		}
		seen[fn] = true
		if got := str(p["ScheduleExpression"]); got != "Ref:"+w.param {
			t.Errorf("%s schedule = %s, want Ref:%s", fn, got, w.param)
		}
		if got := str(c.Parameters[w.param]["Default"]); got != w.def {
			t.Errorf("parameter %s default = %s, want %s", w.param, got, w.def)
		}
		if s := p["State"]; s != nil && s != "ENABLED" {
			t.Errorf("rule %s State = %v", id, s)
		}
		// No Input: the function receives the scheduled event itself
		// (quota-cron takes events.EventBridgeEvent; refresh maps it to {}).
		if in := path(targets[0], "Input"); in != nil {
			t.Errorf("rule %s Input = %v, want the scheduled event", id, in)
		}
	}
	for fn := range want {
		if !seen[fn] {
			t.Errorf("no schedule targets %s", fn)
		}
	}
}

func TestTemplate_Alarms_WatchEMFMetrics(t *testing.T) {
	c := transformed(t)
	want := map[string]struct{ metric, stat string }{
		"RefreshFailuresAlarm": {metrics.RefreshFailures, "Sum"},
		"ReauthRequiredAlarm":  {metrics.ReauthRequired, "Maximum"},
		// The refresh routine's own alarms, emitted by whichever function
		// ran it (the dimensionless aggregate).
		"RotatedTokenNotStoredAlarm": {metricRotatedTokenNotStored, "Sum"},
		"LeaseOutlivedAlarm":         {metricLeaseOutlived, "Sum"},
		// The proxy's 503 no_available_account answers, and quota-cron's
		// failed usage reads.
		"NoAccountAvailableAlarm": {metrics.NoAccountAvailable, "Sum"},
		"QuotaFailuresAlarm":      {metrics.QuotaFailures, "Sum"},
	}
	for id, w := range want {
		p := c.resource(t, id, "AWS::CloudWatch::Alarm").Properties
		for k, v := range map[string]string{
			"Namespace":          metrics.Namespace,
			"MetricName":         w.metric,
			"Statistic":          w.stat,
			"ComparisonOperator": "GreaterThanThreshold",
			"Threshold":          "0",
			"AlarmActions":       `[{"Ref":"AlarmTopic"}]`,
		} {
			if got := str(p[k]); got != v {
				t.Errorf("%s %s = %s, want %s", id, k, got, v)
			}
		}
		// The alarms watch the dimensionless aggregate: an alarm with an
		// Account dimension would watch only one account.
		if d := p["Dimensions"]; d != nil {
			t.Errorf("%s has dimensions %v", id, d)
		}
	}
}

func TestTemplate_Table_Retained(t *testing.T) {
	c := transformed(t)
	tbl := c.resource(t, "Table", "AWS::DynamoDB::Table")
	if tbl.DeletionPolicy != "Retain" || tbl.UpdateReplacePolicy != "Retain" {
		t.Errorf("DeletionPolicy %q, UpdateReplacePolicy %q: want Retain (the table holds the lease fences)", tbl.DeletionPolicy, tbl.UpdateReplacePolicy)
	}
	p := tbl.Properties
	for k, want := range map[string]string{
		"BillingMode":                      "PAY_PER_REQUEST",
		"TimeToLiveSpecification":          `{"AttributeName":"ttl","Enabled":true}`,
		"PointInTimeRecoverySpecification": `{"PointInTimeRecoveryEnabled":true}`,
		"SSESpecification":                 `{"SSEEnabled":true}`,
		"KeySchema":                        `[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}]`,
	} {
		if got := str(p[k]); got != want {
			t.Errorf("table %s = %s, want %s", k, got, want)
		}
	}
}

func keys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
