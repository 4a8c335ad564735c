package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/internal/testsupport"
	"github.com/codexgate/codexgate/shared/quota"
	"github.com/codexgate/codexgate/shared/statestore"
)

// doctorChecks are the checks every doctor run reports, in order.
var doctorChecks = []string{"key", "endpoint", "table", "models", "turn", "accounts"}

// doctor runs `codexgate doctor` with key and extra arguments in s's
// environment, with extra settings overriding it.
func (s *stack) doctor(key string, extra map[string]string, args ...string) result {
	s.t.Helper()
	env := append([]string{}, s.env...)
	env = append(env, "CODEXGATE_API_KEY="+key)
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return runCLI(s.t, env, "", append([]string{"doctor"}, args...)...)
}

// statusOf returns the status doctor printed for check name.
func statusOf(t *testing.T, r result, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^(PASS|FAIL|SKIP)  ` + name + ` `).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no %q line in doctor's output:\n%s", name, r.stdout)
	}
	return m[1]
}

func wantStatuses(t *testing.T, r result, want map[string]string) {
	t.Helper()
	for _, name := range doctorChecks {
		w, ok := want[name]
		if !ok {
			w = "PASS"
		}
		if got := statusOf(t, r, name); got != w {
			t.Errorf("check %s = %s, want %s\n%s", name, got, w, r)
		}
	}
}

// wantStdout fails t for each of want that r's stdout lacks.
func wantStdout(t *testing.T, r result, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("output lacks %q:\n%s", w, r.stdout)
		}
	}
}

// healthy sets up one working account, a key and a running server.
func healthy(t *testing.T) (*stack, *server, string, openaisim.Tokens) {
	t.Helper()
	return serveOneAccount(t, "dave", "doctor")
}

func TestDoctor_Healthy_AllPass(t *testing.T) {
	s, srv, key, tok := healthy(t)
	r := s.doctor(key, nil, "--url", srv.base+"/v1")
	if r.code != 0 {
		t.Fatalf("doctor on a healthy setup: %s", r)
	}
	wantStatuses(t, r, nil)
	wantStdout(t, r, "verdict: all 6 checks passed", "dave: ok; last refresh", "streamed turn with gpt-5.1-codex completed")
	if strings.Contains(r.stdout, "fix:") {
		t.Errorf("a healthy setup got a fix:\n%s", r.stdout)
	}
	noSecrets(t, r, key, tok.AccessToken, tok.RefreshToken)

	// The base URL without /v1 (what Claude Code wants) is accepted too.
	if r := s.doctor(key, nil, "--url", srv.base); r.code != 0 {
		t.Errorf("doctor --url without /v1: %s", r)
	}
}

func TestDoctor_BadKey_FailsWithFix(t *testing.T) {
	s, srv, key, _ := healthy(t)
	wrong := key[:len(key)-4] + "AAAA"
	r := s.doctor(wrong, nil, "--url", srv.base+"/v1")
	mustFail(t, r, 1, "checks did not pass: models, turn")
	wantStatuses(t, r, map[string]string{"models": "FAIL", "turn": "SKIP"})
	wantStdout(t, r, "HTTP 401", "fix: the key is unknown or revoked", "codexgate keys create")
	noSecrets(t, r, wrong, key)

	// No key at all: said plainly, and the API checks are not run.
	r = s.doctor("", nil, "--url", srv.base+"/v1")
	mustFail(t, r, 1, "key, models, turn")
	wantStatuses(t, r, map[string]string{"key": "FAIL", "models": "SKIP", "turn": "SKIP"})
	wantStdout(t, r, "CODEXGATE_API_KEY is not set")
}

// TestDoctor_AccountNeedsReLogin: one dead login among two fails the
// verdict and names the account and the command, while the endpoint keeps
// serving through the other account.
func TestDoctor_AccountNeedsReLogin(t *testing.T) {
	s, srv, key, _ := healthy(t)
	file, tok := s.newLogin(openaisim.Account{Name: "erin"})
	mustSucceed(t, s.run("import", "--account", "erin", "--auth-file", file))
	if err := s.sim.RevokeAccount(tok.AccountID); err != nil {
		t.Fatal(err)
	}
	mustFail(t, s.run("refresh", "--account", "erin", "--force"), 1, "needs re-login")

	r := s.doctor(key, nil, "--url", srv.base+"/v1")
	mustFail(t, r, 1, "checks did not pass: accounts")
	wantStatuses(t, r, map[string]string{"accounts": "FAIL"})
	wantStdout(t, r, "2 accounts, 1 ok", "erin: re-login needed (", "dave: ok", "fix: log in again: `codexgate login --account erin`")
	noSecrets(t, r, key, tok.RefreshToken, tok.AccessToken)
}

func TestDoctor_MissingTable(t *testing.T) {
	s, srv, key, _ := healthy(t)
	missing := testsupport.UniqueName(t, "gone")
	r := s.doctor(key, map[string]string{"CODEXGATE_TABLE": missing}, "--url", srv.base+"/v1")
	mustFail(t, r, 1, "checks did not pass: table, accounts")
	wantStatuses(t, r, map[string]string{"table": "FAIL", "accounts": "FAIL"})
	wantStdout(t, r, fmt.Sprintf("table %q (CODEXGATE_TABLE) does not exist", missing), "EXISTING_TABLE")
}

// TestDoctor_StackOutputs: without --url, the endpoint and the table come
// from the CloudFormation stack's ApiUrl and TableName outputs (the
// environment's CODEXGATE_TABLE, here wrong, is not used).
func TestDoctor_StackOutputs(t *testing.T) {
	s, srv, key, _ := healthy(t)
	name := testsupport.UniqueName(t, "stack")
	resources := stackResources(t)
	// The alarm topic, with an e-mail subscription (moto confirms every
	// subscription at once).
	topic := s.alarmTopic("ops@example.com")
	createStack := func(name string, resources map[string]any) {
		s.createStack(name, resources, map[string]string{"ApiUrl": srv.base + "/v1", "TableName": s.table, "AlarmTopicArn": topic})
	}
	createStack(name, resources)

	r := s.doctor(key, map[string]string{"CODEXGATE_TABLE": "not-the-table"}, "--stack", name)
	if r.code != 0 {
		t.Fatalf("doctor --stack: %s", r)
	}
	wantStatuses(t, r, nil)
	if got := statusOf(t, r, "stack"); got != "PASS" {
		t.Errorf("stack check = %s\n%s", got, r)
	}
	if got := statusOf(t, r, "alarms"); got != "PASS" {
		t.Errorf("alarms check = %s\n%s", got, r)
	}
	wantStdout(t, r, srv.base+"/v1 (stack "+name, s.table+" (stack output TableName)", "2 schedules, 10 alarms",
		"alarm topic "+topic[strings.LastIndex(topic, ":")+1:]+": 1 confirmed subscription(s) (email)")

	// A stack without its keep-alive schedule and one alarm: named, with
	// the fix.
	partial := testsupport.UniqueName(t, "partial")
	delete(resources, "RefreshFunctionSchedule")
	delete(resources, "ThrottlesAlarm")
	createStack(partial, resources)
	r = s.doctor(key, nil, "--stack", partial)
	mustFail(t, r, 1, "checks did not pass: stack")
	wantStdout(t, r, "lacks RefreshFunctionSchedule, ThrottlesAlarm", "fix: deploy the current template with `make deploy`")

	// A stack that does not exist: a clear failure, and what to do.
	r = s.doctor(key, nil, "--stack", name+"-nope")
	mustFail(t, r, 1, "endpoint")
	wantStatuses(t, r, map[string]string{"endpoint": "FAIL", "models": "SKIP", "turn": "SKIP"})
	wantStdout(t, r, "fix: deploy with `make deploy`, or pass --stack NAME")
}

// TestDoctor_CoolingDownAndQuota: an account cooling down is reported with
// its reason and does not fail the verdict (another account serves); quota
// comes from the latest snapshot, as in `codexgate accounts`.
func TestDoctor_CoolingDownAndQuota(t *testing.T) {
	s, srv, key, _ := healthy(t)
	file, _ := s.newLogin(openaisim.Account{Name: "fay"})
	mustSucceed(t, s.run("import", "--account", "fay", "--auth-file", file))
	st := statestore.New(dynamodb.NewFromConfig(s.aws), s.table)
	ctx := context.Background()
	if err := st.SetCooldown(ctx, "fay", time.Now().Add(30*time.Minute), "usage_limit_reached"); err != nil {
		t.Fatal(err)
	}
	if err := st.PutQuota(ctx, statestore.QuotaSnapshot{Account: "dave", Snapshot: quota.Snapshot{FetchedAt: time.Now(), Allowed: true, Windows: []quota.Window{
		{Kind: quota.Kind5h, UsedPercent: 42, WindowSeconds: 18000},
		{Kind: quota.KindWeekly, UsedPercent: 7, WindowSeconds: 604800},
	}}}); err != nil {
		t.Fatal(err)
	}
	r := s.doctor(key, nil, "--url", srv.base+"/v1")
	if r.code != 0 {
		t.Fatalf("a cooling-down account fails the verdict: %s", r)
	}
	wantStdout(t, r, "2 accounts, 1 ok, 1 cooling down", "fay: cooling down for ", "(usage_limit_reached)", "dave: ok; last refresh", "5h 42%, week 7% used")
}

// createStack creates a stand-in for a deployed stack in moto: resources
// and outputs (name → value).
func (s *stack) createStack(name string, resources map[string]any, outputs map[string]string) {
	s.t.Helper()
	outs := map[string]any{}
	for k, v := range outputs {
		outs[k] = map[string]any{"Value": v}
	}
	body, _ := json.Marshal(map[string]any{"Resources": resources, "Outputs": outs})
	cfn := cloudformation.NewFromConfig(s.aws)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := cfn.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(name), TemplateBody: aws.String(string(body))}); err != nil {
		s.t.Fatalf("create stack: %v", err)
	}
	s.t.Cleanup(func() {
		_, _ = cfn.DeleteStack(context.Background(), &cloudformation.DeleteStackInput{StackName: aws.String(name)})
	})
}

// alarmTopic creates an SNS topic with an e-mail subscription for each
// address (confirmed at once: moto confirms every subscription) and
// returns its ARN.
func (s *stack) alarmTopic(emails ...string) string {
	s.t.Helper()
	ctx := context.Background()
	api := sns.NewFromConfig(s.aws)
	out, err := api.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(testsupport.UniqueName(s.t, "alarms"))})
	if err != nil {
		s.t.Fatalf("create topic: %v", err)
	}
	for _, e := range emails {
		if _, err := api.Subscribe(ctx, &sns.SubscribeInput{TopicArn: out.TopicArn, Protocol: aws.String("email"), Endpoint: aws.String(e)}); err != nil {
			s.t.Fatalf("subscribe: %v", err)
		}
	}
	s.t.Cleanup(func() { _, _ = api.DeleteTopic(context.Background(), &sns.DeleteTopicInput{TopicArn: out.TopicArn}) })
	return aws.ToString(out.TopicArn)
}

// stackResources stands in for the deployed stack's resources: one under
// each logical id doctor looks for. moto's CloudFormation lists no
// AWS::CloudWatch::Alarm resources: an SNS topic stands in under each
// alarm's id (doctor checks ids and states, not types).
func stackResources(t *testing.T) map[string]any {
	resources := map[string]any{}
	for _, id := range stackSchedules {
		resources[id] = map[string]any{"Type": "AWS::Events::Rule", "Properties": map[string]any{
			"Name": testsupport.UniqueName(t, id), "ScheduleExpression": "rate(1 hour)", "State": "ENABLED"}}
	}
	for _, id := range stackAlarms {
		resources[id] = map[string]any{"Type": "AWS::SNS::Topic"}
	}
	return resources
}

// TestDoctor_AlarmTopic_NobodySubscribed: against moto, a stack whose alarm
// topic has no subscription, a topic that does not exist, and a stack
// without an AlarmTopicArn output each fail the alarms check (and only it)
// with what to do. A subscription pending confirmation cannot be made in
// moto (it confirms at once): TestCheckAlarmTopic covers it.
func TestDoctor_AlarmTopic_NobodySubscribed(t *testing.T) {
	s, srv, key, _ := healthy(t)
	resources := stackResources(t)
	outputs := func(topic string) map[string]string {
		o := map[string]string{"ApiUrl": srv.base + "/v1", "TableName": s.table}
		if topic != "" {
			o["AlarmTopicArn"] = topic
		}
		return o
	}
	empty := s.alarmTopic()
	gone := empty + "-gone"
	for _, tc := range []struct {
		name, topic string
		want        []string
	}{
		{"no subscription", empty, []string{"has no subscription: alarms notify nobody",
			"fix: `make deploy ALARM_EMAIL=you@example.com`, or aws sns subscribe --region " + s.aws.Region + " --topic-arn " + empty + " --protocol email"}},
		{"no such topic", gone, []string{"list the subscriptions of alarm topic " + gone, "fix: check AWS_REGION"}},
		{"no output", "", []string{"has no AlarmTopicArn output", "fix: deploy the current template"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := testsupport.UniqueName(t, "stack")
			s.createStack(name, resources, outputs(tc.topic))
			r := s.doctor(key, nil, "--stack", name)
			mustFail(t, r, 1, "checks did not pass: alarms")
			wantStatuses(t, r, nil)
			if got := statusOf(t, r, "alarms"); got != "FAIL" {
				t.Errorf("alarms = %s", got)
			}
			wantStdout(t, r, tc.want...)
		})
	}
}

// fakeSubscriptions pages out subscriptions, two per page.
type fakeSubscriptions struct{ arns, protocols []string }

func (f fakeSubscriptions) ListSubscriptionsByTopic(_ context.Context, in *sns.ListSubscriptionsByTopicInput, _ ...func(*sns.Options)) (*sns.ListSubscriptionsByTopicOutput, error) {
	start := 0
	if in.NextToken != nil {
		fmt.Sscan(*in.NextToken, &start)
	}
	out := &sns.ListSubscriptionsByTopicOutput{}
	for i := start; i < len(f.arns) && i < start+2; i++ {
		out.Subscriptions = append(out.Subscriptions, snstypes.Subscription{SubscriptionArn: aws.String(f.arns[i]), Protocol: aws.String(f.protocols[i])})
	}
	if start+2 < len(f.arns) {
		out.NextToken = aws.String(fmt.Sprint(start + 2))
	}
	return out, nil
}

// TestCheckAlarmTopic: "PendingConfirmation" is not a subscription that
// receives anything; one confirmed subscription on any page is enough.
func TestCheckAlarmTopic(t *testing.T) {
	const topic = "arn:aws:sns:us-east-1:123456789012:codexgate-AlarmTopic-X"
	confirmed := topic + ":0c1d5a3e-5bd1-4a4b-9d3e-2f5c8b9a1e11"
	for _, tc := range []struct {
		name       string
		arns       []string
		wantStatus string
		want       string
	}{
		{"pending only", []string{pendingConfirmation}, checkFail, "1 subscription(s) pending confirmation, none confirmed: alarms notify nobody"},
		{"none", nil, checkFail, "has no subscription"},
		{"confirmed on page 2", []string{pendingConfirmation, pendingConfirmation, confirmed}, checkPass, "1 confirmed subscription(s) (email), 2 pending confirmation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			protocols := make([]string, len(tc.arns))
			for i := range protocols {
				protocols[i] = "email"
			}
			c := checkAlarmTopic(context.Background(), fakeSubscriptions{tc.arns, protocols}, "us-east-1", "codexgate", topic)
			if c.status != tc.wantStatus || !strings.Contains(c.detail, tc.want) {
				t.Errorf("check = %s %q, want %s %q", c.status, c.detail, tc.wantStatus, tc.want)
			}
			if c.status == checkFail && !strings.Contains(c.fix, "aws sns subscribe --region us-east-1 --topic-arn "+topic) {
				t.Errorf("fix = %q", c.fix)
			}
		})
	}
}
