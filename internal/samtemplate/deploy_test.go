package samtemplate

import (
	"encoding/json"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/codexgate/codexgate/shared/metrics"
)

// Metrics the refresh routine emits when it could not store a rotated token
// and when a holder outlived its lease (namespace codexgate, dimensionless).
const (
	metricRotatedTokenNotStored = metrics.RotatedTokenNotStored
	metricLeaseOutlived         = metrics.LeaseOutlived
)

func TestTemplate_AlarmTopic_KeyCloudWatchMayUse(t *testing.T) {
	c := transformed(t)
	topic := c.resource(t, "AlarmTopic", "AWS::SNS::Topic").Properties
	if got := str(topic["KmsMasterKeyId"]); got != "Ref:AlarmKey" {
		t.Fatalf("AlarmTopic KmsMasterKeyId = %s, want Ref:AlarmKey (CloudWatch cannot use alias/aws/sns: alarms would not be delivered)", got)
	}
	key := c.resource(t, "AlarmKey", "AWS::KMS::Key").Properties
	if key["EnableKeyRotation"] != true {
		t.Errorf("AlarmKey EnableKeyRotation = %v, want true", key["EnableKeyRotation"])
	}
	var cloudwatch, admin bool
	sts, _ := path(key, "KeyPolicy", "Statement").([]any)
	for _, st := range sts {
		m := st.(map[string]any)
		if str(m["Effect"]) != "Allow" {
			continue
		}
		switch principal := str(path(m, "Principal", "Service")); {
		case principal == "cloudwatch.amazonaws.com":
			actions := strs(m["Action"])
			if slices.Contains(actions, "kms:Decrypt") && slices.Contains(actions, "kms:GenerateDataKey*") &&
				slices.Equal(strs(m["Resource"]), []string{"*"}) && m["Condition"] == nil {
				cloudwatch = true
			} else {
				t.Errorf("CloudWatch key statement %v: want kms:Decrypt and kms:GenerateDataKey* on *, unconditioned", m)
			}
		case str(path(m, "Principal", "AWS")) == "Sub:arn:${AWS::Partition}:iam::${AWS::AccountId}:root":
			admin = slices.Equal(strs(m["Action"]), []string{"kms:*"})
		}
	}
	if !cloudwatch {
		t.Error("AlarmKey policy does not let cloudwatch.amazonaws.com use the key")
	}
	if !admin {
		t.Error("AlarmKey policy has no account-root kms:* statement: nobody could manage or delete the key")
	}

	sub := c.resource(t, "AlarmEmailSubscription", "AWS::SNS::Subscription")
	if sub.Condition != "HasAlarmEmail" {
		t.Errorf("AlarmEmailSubscription condition = %q, want HasAlarmEmail", sub.Condition)
	}
	for k, want := range map[string]string{"Protocol": "email", "Endpoint": "Ref:AlarmEmail", "TopicArn": "Ref:AlarmTopic"} {
		if got := str(sub.Properties[k]); got != want {
			t.Errorf("AlarmEmailSubscription %s = %s, want %s", k, got, want)
		}
	}
	if got := str(c.Conditions["HasAlarmEmail"]); got != `{"Fn::Not":[{"Fn::Equals":[{"Ref":"AlarmEmail"},""]}]}` {
		t.Errorf("HasAlarmEmail = %s", got)
	}
	if got := str(c.Parameters["AlarmEmail"]["Default"]); got != "" {
		t.Errorf("AlarmEmail default = %q, want empty (optional)", got)
	}
}

func TestTemplate_Alarms_NotifyTopic(t *testing.T) {
	c := transformed(t)
	want := map[string]bool{ // alarm → seen
		"RefreshFailuresAlarm": false, "ReauthRequiredAlarm": false, "RotatedTokenNotStoredAlarm": false,
		"LeaseOutlivedAlarm": false, "ProxyErrorsAlarm": false, "ThrottlesAlarm": false,
		"QuotaCronErrorsAlarm": false, "RefreshErrorsAlarm": false, "NoAccountAvailableAlarm": false,
		"QuotaFailuresAlarm": false,
	}
	for _, id := range c.ofType("AWS::CloudWatch::Alarm") {
		p := c.Resources[id].Properties
		if _, ok := want[id]; !ok {
			t.Errorf("unexpected alarm %s: add it to this test and docs/DEPLOY.md", id)
		}
		want[id] = true
		if got := str(p["AlarmActions"]); got != `[{"Ref":"AlarmTopic"}]` {
			t.Errorf("%s AlarmActions = %s, want the alarm topic", id, got)
		}
		if got := str(p["TreatMissingData"]); got != "notBreaching" {
			t.Errorf("%s TreatMissingData = %s, want notBreaching", id, got)
		}
	}
	for id, seen := range want {
		if !seen {
			t.Errorf("no alarm %s", id)
		}
	}
	// `codexgate doctor` looks for these ids in the deployed stack.
	if got := c.ofType("AWS::Events::Rule"); !slices.Equal(got, []string{"QuotaCronFunctionSchedule", "RefreshFunctionSchedule"}) {
		t.Errorf("schedules = %v, want the ids codexgate doctor checks", got)
	}

	// The proxy's 5xx rate: the REST API stage's 5XXError (a 0..1 rate as
	// Average), by the API's fixed name and the stage.
	p := c.resource(t, "ProxyErrorsAlarm", "AWS::CloudWatch::Alarm").Properties
	api := c.resource(t, "Api", "AWS::ApiGateway::RestApi").Properties
	for k, v := range map[string]string{
		"Namespace":  "AWS/ApiGateway",
		"MetricName": "5XXError",
		"Statistic":  "Average",
		"Dimensions": `[{"Name":"ApiName","Value":` + mustJSON(api["Name"]) + `},{"Name":"Stage","Value":{"Ref":"StageName"}}]`,
	} {
		if got := str(p[k]); got != v {
			t.Errorf("ProxyErrorsAlarm %s = %s, want %s", k, got, v)
		}
	}
	if th, _ := p["Threshold"].(float64); th <= 0 || th >= 1 {
		t.Errorf("ProxyErrorsAlarm Threshold = %v, want a rate in (0,1)", p["Threshold"])
	}

	// Throttles of every function, summed.
	p = c.resource(t, "ThrottlesAlarm", "AWS::CloudWatch::Alarm").Properties
	var expr string
	watched := map[string]bool{}
	for _, m := range p["Metrics"].([]any) {
		m := m.(map[string]any)
		if e, ok := m["Expression"].(string); ok && m["ReturnData"] == true {
			expr = e
			continue
		}
		if str(path(m, "MetricStat", "Metric", "Namespace")) != "AWS/Lambda" || str(path(m, "MetricStat", "Metric", "MetricName")) != "Throttles" {
			t.Errorf("ThrottlesAlarm metric %v is not AWS/Lambda Throttles", m)
			continue
		}
		if !strings.Contains(expr+" "+str(p["Metrics"]), str(m["Id"])) {
			t.Errorf("metric %v not in the expression", m["Id"])
		}
		dims := path(m, "MetricStat", "Metric", "Dimensions").([]any)
		watched[strings.TrimPrefix(str(path(dims[0], "Value")), "Ref:")] = true
	}
	for _, f := range functions {
		if !watched[f.id] {
			t.Errorf("ThrottlesAlarm does not watch %s", f.id)
		}
	}
	if !strings.HasPrefix(expr, "SUM(") {
		t.Errorf("ThrottlesAlarm expression = %q, want a SUM of the functions' Throttles", expr)
	}
}

// TestTemplate_Table_ExistingOrCreated: with ExistingTableName set the stack
// creates no table, and nothing may then refer to the absent Table: every
// Ref/GetAtt of Table must sit in the CreateTable branch of an Fn::If.
func TestTemplate_Table_ExistingOrCreated(t *testing.T) {
	c := transformed(t)
	tbl := c.resource(t, "Table", "AWS::DynamoDB::Table")
	if tbl.Condition != "CreateTable" {
		t.Fatalf("Table condition = %q, want CreateTable", tbl.Condition)
	}
	if got := str(c.Conditions["CreateTable"]); got != `{"Fn::Equals":[{"Ref":"ExistingTableName"},""]}` {
		t.Errorf("CreateTable = %s", got)
	}
	param := c.Parameters["ExistingTableName"]
	if got := str(param["Default"]); got != "" {
		t.Errorf("ExistingTableName default = %q, want empty (create)", got)
	}
	re := regexp.MustCompile(str(param["AllowedPattern"]))
	for v, ok := range map[string]bool{"": true, "codexgate-Table-1ABC": true, "a b": false, "x": false} {
		if re.MatchString(v) != ok {
			t.Errorf("ExistingTableName pattern on %q: match %v, want %v", v, !ok, ok)
		}
	}
	if got := str(path(c.Outputs["TableName"], "Value")); got != `{"Fn::If":["CreateTable",{"Ref":"Table"},{"Ref":"ExistingTableName"}]}` {
		t.Errorf("TableName output = %s, want the created or the existing table", got)
	}

	var refs int
	var walk func(where string, v any, guarded bool)
	walk = func(where string, v any, guarded bool) {
		switch v := v.(type) {
		case map[string]any:
			if v["Ref"] == "Table" || (v["Fn::GetAtt"] != nil && strs(v["Fn::GetAtt"])[0] == "Table") {
				refs++
				if !guarded {
					t.Errorf("%s refers to Table outside Fn::If CreateTable: the stack fails with ExistingTableName set", where)
				}
			}
			if cond, ok := v["Fn::If"].([]any); ok && len(cond) == 3 && cond[0] == "CreateTable" {
				walk(where, cond[1], true)
				walk(where, cond[2], guarded)
				return
			}
			for k, x := range v {
				walk(where+"."+k, x, guarded)
			}
		case []any:
			for _, x := range v {
				walk(where, x, guarded)
			}
		}
	}
	for id, r := range c.Resources {
		if r.Condition == "CreateTable" {
			continue
		}
		walk(id, r.Properties, false)
	}
	for id, o := range c.Outputs {
		walk("Outputs."+id, o, false)
	}
	if refs == 0 {
		t.Error("nothing refers to the table")
	}
}

func TestTemplate_URLParameters_HTTPSOnly(t *testing.T) {
	c := transformed(t)
	var urls []string
	for name := range c.Parameters {
		if strings.HasSuffix(name, "URL") {
			urls = append(urls, name)
		}
	}
	sort.Strings(urls)
	if want := []string{"TokenURL", "UpstreamURL", "UsageURL"}; !slices.Equal(urls, want) {
		t.Errorf("URL parameters = %v, want %v", urls, want)
	}
	for _, name := range urls {
		p := c.Parameters[name]
		re, err := regexp.Compile(str(p["AllowedPattern"]))
		if err != nil || p["AllowedPattern"] == nil {
			t.Errorf("%s: AllowedPattern %v: %v", name, p["AllowedPattern"], err)
			continue
		}
		for v, ok := range map[string]bool{
			str(p["Default"]):                 true,
			"https://proxy.example/codex":     true,
			"http://127.0.0.1:8080":           false,
			"HTTP://chatgpt.com":              false,
			"ftp://x":                         false,
			" https://leading-space.example/": false,
		} {
			if re.MatchString(v) != ok {
				t.Errorf("%s pattern %s on %q: match %v, want %v", name, re, v, !ok, ok)
			}
		}
	}
}

func TestTemplate_ScheduledFunctions_ReservedConcurrency(t *testing.T) {
	c := transformed(t)
	want := `{"Fn::If":["ReserveScheduledConcurrency",{"Ref":"ScheduledConcurrency"},{"Ref":"AWS::NoValue"}]}`
	for _, id := range []string{"QuotaCronFunction", "RefreshFunction"} {
		if got := str(c.resource(t, id, "AWS::Lambda::Function").Properties["ReservedConcurrentExecutions"]); got != want {
			t.Errorf("%s ReservedConcurrentExecutions = %s, want %s", id, got, want)
		}
	}
	// The proxy takes what is left unless the operator caps it
	// (ProxyReservedConcurrency, default 0: no reservation).
	wantProxy := `{"Fn::If":["ReserveProxyConcurrency",{"Ref":"ProxyReservedConcurrency"},{"Ref":"AWS::NoValue"}]}`
	if got := str(c.resource(t, "ProxyFunction", "AWS::Lambda::Function").Properties["ReservedConcurrentExecutions"]); got != wantProxy {
		t.Errorf("ProxyFunction ReservedConcurrentExecutions = %s, want %s", got, wantProxy)
	}
	if got := str(c.Conditions["ReserveProxyConcurrency"]); got != `{"Fn::Not":[{"Fn::Equals":[{"Ref":"ProxyReservedConcurrency"},0]}]}` {
		t.Errorf("ReserveProxyConcurrency = %s", got)
	}
	if pp := c.Parameters["ProxyReservedConcurrency"]; str(pp["Type"]) != "Number" || pp["Default"] != float64(0) || pp["MinValue"] != float64(0) {
		t.Errorf("ProxyReservedConcurrency = %s, want a Number, default 0 (no cap), MinValue 0", mustJSON(pp))
	}
	if got := str(c.Conditions["ReserveScheduledConcurrency"]); got != `{"Fn::Not":[{"Fn::Equals":[{"Ref":"ScheduledConcurrency"},0]}]}` {
		t.Errorf("ReserveScheduledConcurrency = %s", got)
	}
	p := c.Parameters["ScheduledConcurrency"]
	if d, _ := p["Default"].(float64); d < 1 {
		t.Errorf("ScheduledConcurrency default = %v, want at least 1", p["Default"])
	}
	if p["MinValue"] != float64(0) {
		t.Errorf("ScheduledConcurrency MinValue = %v, want 0 (an account with a concurrency limit below 101 cannot reserve)", p["MinValue"])
	}
}

// accessLogVars are the only $context variables the access log may hold:
// none carries a credential (no $context.identity.apiKey, authorizer or
// caller claims, no header) or a body.
var accessLogVars = []string{
	"requestId", "identity.sourceIp", "requestTime", "httpMethod", "path", "protocol", "status",
	"responseLength", "responseLatency", "integration.status", "integration.latency", "error.message",
}

func TestTemplate_AccessLogs_NoSecrets(t *testing.T) {
	c := transformed(t)
	stage := c.resource(t, "ApiStage", "AWS::ApiGateway::Stage").Properties
	if got := str(path(stage, "AccessLogSetting", "DestinationArn")); got != "GetAtt:ApiAccessLogGroup.Arn" {
		t.Errorf("access log destination = %s, want GetAtt:ApiAccessLogGroup.Arn", got)
	}
	format := str(path(stage, "AccessLogSetting", "Format"))
	var fields map[string]string
	if err := json.Unmarshal([]byte(format), &fields); err != nil {
		t.Fatalf("access log format is not one JSON object of strings: %v\n%s", err, format)
	}
	ctxVar := regexp.MustCompile(`^\$context\.([A-Za-z.]+)$`)
	for k, v := range fields {
		m := ctxVar.FindStringSubmatch(v)
		if m == nil || !slices.Contains(accessLogVars, m[1]) {
			t.Errorf("access log field %s = %q: only $context.{%s}", k, v, strings.Join(accessLogVars, ","))
		}
	}
	for _, need := range []string{"requestId", "status", "identity.sourceIp"} {
		if !strings.Contains(format, "$context."+need+`"`) {
			t.Errorf("access log lacks $context.%s", need)
		}
	}
	lg := c.resource(t, "ApiAccessLogGroup", "AWS::Logs::LogGroup").Properties
	if got := str(lg["RetentionInDays"]); got != "Ref:LogRetentionDays" {
		t.Errorf("access log retention = %s", got)
	}

	// API Gateway's account-wide logging role: made only when asked,
	// retained, and no more than AWS's own policy for it.
	role := c.resource(t, "ApiGatewayLogsRole", "AWS::IAM::Role")
	if role.Condition != "CreateApiGatewayLogsRole" || role.DeletionPolicy != "Retain" {
		t.Errorf("ApiGatewayLogsRole condition %q, DeletionPolicy %q: want CreateApiGatewayLogsRole, Retain", role.Condition, role.DeletionPolicy)
	}
	if got := str(path(role.Properties, "AssumeRolePolicyDocument", "Statement")); got != `[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":"apigateway.amazonaws.com"}}]` {
		t.Errorf("ApiGatewayLogsRole trust = %s", got)
	}
	if got := strs(role.Properties["ManagedPolicyArns"]); !slices.Equal(got, []string{"Sub:arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"}) {
		t.Errorf("ApiGatewayLogsRole managed policies = %v", got)
	}
	if role.Properties["Policies"] != nil {
		t.Errorf("ApiGatewayLogsRole has inline policies %v", role.Properties["Policies"])
	}
	acct := c.resource(t, "ApiGatewayAccountSetting", "AWS::ApiGateway::Account")
	if got := str(acct.Properties["CloudWatchRoleArn"]); got != "GetAtt:ApiGatewayLogsRole.Arn" || acct.Condition != "CreateApiGatewayLogsRole" {
		t.Errorf("ApiGatewayAccountSetting = %s (condition %q)", got, acct.Condition)
	}
	// The stage must not be created before the account has a logging role.
	api := c.resource(t, "Api", "AWS::ApiGateway::RestApi")
	if got := str(api.DependsOn); got != "ApiGatewayAccountReady" && got != `["ApiGatewayAccountReady"]` {
		t.Errorf("Api DependsOn = %s, want ApiGatewayAccountReady", got)
	}
	ready := c.resource(t, "ApiGatewayAccountReady", "AWS::CloudFormation::WaitConditionHandle")
	if got := str(ready.Metadata["AccountSetting"]); got != `{"Fn::If":["CreateApiGatewayLogsRole",{"Ref":"ApiGatewayAccountSetting"},""]}` {
		t.Errorf("ApiGatewayAccountReady does not wait for the account setting: %s", got)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestTemplate_Waf_OptionalPerIPRateRule: WafRateLimit 0 creates nothing;
// 1 to 9 are refused (AWS WAF's rate-based rule needs at least 10);
// otherwise a regional web ACL blocks an IP over the limit and is attached
// to the stage SAM creates.
func TestTemplate_Waf_OptionalPerIPRateRule(t *testing.T) {
	c := transformed(t)
	p := c.Parameters["WafRateLimit"]
	if got := str(p["Default"]); got != "0" {
		t.Errorf("WafRateLimit default = %s, want 0 (off: WAF costs money)", got)
	}
	re, err := regexp.Compile(str(p["AllowedPattern"]))
	if err != nil {
		t.Fatalf("WafRateLimit AllowedPattern: %v", err)
	}
	for v, want := range map[string]bool{
		"0": true, "10": true, "300": true, "999999999": true, "1000000000": true, "2000000000": true,
		"1": false, "9": false, "00": false, "010": false, "-10": false, "2000000001": false, "3000000000": false, "": false, "1e3": false,
	} {
		if got := re.MatchString(v); got != want {
			t.Errorf("WafRateLimit %q accepted = %v, want %v", v, got, want)
		}
	}
	if got := str(c.Conditions["HasWafRule"]); got != `{"Fn::Not":[{"Fn::Equals":[{"Ref":"WafRateLimit"},"0"]}]}` {
		t.Errorf("HasWafRule = %s", got)
	}
	acl := c.resource(t, "WafWebAcl", "AWS::WAFv2::WebACL")
	if acl.Condition != "HasWafRule" || str(acl.Properties["Scope"]) != "REGIONAL" || str(acl.Properties["DefaultAction"]) != `{"Allow":{}}` {
		t.Errorf("web ACL: condition %q, scope %s, default %s", acl.Condition, str(acl.Properties["Scope"]), str(acl.Properties["DefaultAction"]))
	}
	rules, _ := acl.Properties["Rules"].([]any)
	if len(rules) != 1 {
		t.Fatalf("rules = %v, want one", rules)
	}
	if got := str(path(rules[0], "Action")); got != `{"Block":{}}` {
		t.Errorf("rule action = %s", got)
	}
	rate := path(rules[0], "Statement", "RateBasedStatement")
	if str(path(rate, "AggregateKeyType")) != "IP" || str(path(rate, "Limit")) != "Ref:WafRateLimit" {
		t.Errorf("rate statement = %s", str(rate))
	}
	assoc := c.resource(t, "WafWebAclAssociation", "AWS::WAFv2::WebACLAssociation")
	if assoc.Condition != "HasWafRule" || str(assoc.Properties["WebACLArn"]) != "GetAtt:WafWebAcl.Arn" ||
		str(assoc.Properties["ResourceArn"]) != "Sub:arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${Api}/stages/${ApiStage}" {
		t.Errorf("association = %s (condition %q)", str(assoc.Properties), assoc.Condition)
	}
}
