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
	for _, want := range []string{"verdict: all 6 checks passed", "dave: ok; last refresh", "streamed turn with gpt-5.1-codex completed"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
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
	for _, want := range []string{"HTTP 401", "fix: the key is unknown or revoked", "codexgate keys create"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	noSecrets(t, r, wrong, key)

	// No key at all: said plainly, and the API checks are not run.
	r = s.doctor("", nil, "--url", srv.base+"/v1")
	mustFail(t, r, 1, "key, models, turn")
	wantStatuses(t, r, map[string]string{"key": "FAIL", "models": "SKIP", "turn": "SKIP"})
	if !strings.Contains(r.stdout, "CODEXGATE_API_KEY is not set") {
		t.Errorf("output:\n%s", r.stdout)
	}
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
	for _, want := range []string{"2 accounts, 1 ok", "erin: re-login needed (", "dave: ok", "fix: log in again: `codexgate login --account erin`"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	noSecrets(t, r, key, tok.RefreshToken, tok.AccessToken)
}

func TestDoctor_MissingTable(t *testing.T) {
	s, srv, key, _ := healthy(t)
	missing := testsupport.UniqueName(t, "gone")
	r := s.doctor(key, map[string]string{"CODEXGATE_TABLE": missing}, "--url", srv.base+"/v1")
	mustFail(t, r, 1, "checks did not pass: table, accounts")
	wantStatuses(t, r, map[string]string{"table": "FAIL", "accounts": "FAIL"})
	for _, want := range []string{fmt.Sprintf("table %q (CODEXGATE_TABLE) does not exist", missing), "EXISTING_TABLE"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestDoctor_StackOutputs: without --url, the endpoint and the table come
// from the CloudFormation stack's ApiUrl and TableName outputs (the
// environment's CODEXGATE_TABLE, here wrong, is not used).
func TestDoctor_StackOutputs(t *testing.T) {
	s, srv, key, _ := healthy(t)
	cfn := cloudformation.NewFromConfig(s.aws)
	name := testsupport.UniqueName(t, "stack")
	// A stand-in for the deployed stack: its outputs, and a resource under
	// each logical id doctor looks for.
	resources := map[string]any{}
	for _, id := range stackSchedules {
		resources[id] = map[string]any{"Type": "AWS::Events::Rule", "Properties": map[string]any{
			"Name": testsupport.UniqueName(t, id), "ScheduleExpression": "rate(1 hour)", "State": "ENABLED"}}
	}
	// moto's CloudFormation lists no AWS::CloudWatch::Alarm resources: an
	// SNS topic stands in under each alarm's id (doctor checks ids and
	// states, not types).
	for _, id := range stackAlarms {
		resources[id] = map[string]any{"Type": "AWS::SNS::Topic"}
	}
	createStack := func(name string, resources map[string]any) {
		body, _ := json.Marshal(map[string]any{
			"Resources": resources,
			"Outputs": map[string]any{
				"ApiUrl":    map[string]any{"Value": srv.base + "/v1"},
				"TableName": map[string]any{"Value": s.table},
			},
		})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := cfn.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(name), TemplateBody: aws.String(string(body))}); err != nil {
			t.Fatalf("create stack: %v", err)
		}
		t.Cleanup(func() {
			_, _ = cfn.DeleteStack(context.Background(), &cloudformation.DeleteStackInput{StackName: aws.String(name)})
		})
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
	for _, want := range []string{srv.base + "/v1 (stack " + name, s.table + " (stack output TableName)", "2 schedules, 8 alarms"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}

	// A stack without its keep-alive schedule and one alarm: named, with
	// the fix.
	partial := testsupport.UniqueName(t, "partial")
	delete(resources, "RefreshFunctionSchedule")
	delete(resources, "ThrottlesAlarm")
	createStack(partial, resources)
	r = s.doctor(key, nil, "--stack", partial)
	mustFail(t, r, 1, "checks did not pass: stack")
	if !strings.Contains(r.stdout, "lacks RefreshFunctionSchedule, ThrottlesAlarm") || !strings.Contains(r.stdout, "fix: deploy the current template with `make deploy`") {
		t.Errorf("output:\n%s", r.stdout)
	}

	// A stack that does not exist: a clear failure, and what to do.
	r = s.doctor(key, nil, "--stack", name+"-nope")
	mustFail(t, r, 1, "endpoint")
	wantStatuses(t, r, map[string]string{"endpoint": "FAIL", "models": "SKIP", "turn": "SKIP"})
	if !strings.Contains(r.stdout, "fix: deploy with `make deploy`, or pass --stack NAME") {
		t.Errorf("output:\n%s", r.stdout)
	}
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
	for _, want := range []string{"2 accounts, 1 ok, 1 cooling down", "fay: cooling down for ", "(usage_limit_reached)", "dave: ok; last refresh", "5h 42%, week 7% used"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
}
