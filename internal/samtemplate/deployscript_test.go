package samtemplate

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/codexgate/codexgate/internal/testsupport"
	"github.com/codexgate/codexgate/shared/version"
)

// fakeSAM records each invocation (arguments one per line, then the build
// environment) and answers --version with $FAKE_SAM_VERSION; a deploy
// marks the stack as existing.
const fakeSAM = `#!/usr/bin/env bash
if [[ $1 == --version ]]; then echo "SAM CLI, version $FAKE_SAM_VERSION"; exit 0; fi
{ echo "== sam"; printf '%s\n' "$@"; echo "CGO_ENABLED=${CGO_ENABLED:-}"; echo "GOFLAGS=${GOFLAGS:-}"; } >>"$FAKE_DIR/calls"
[[ $1 == deploy ]] && touch "$FAKE_DIR/deployed"
exit 0
`

// fakeAWS answers the read-only calls deploy.sh makes from files in
// $FAKE_DIR, as the AWS CLI does with --output text.
const fakeAWS = `#!/usr/bin/env bash
args="$*"
fakeTopic=arn:aws:sns:us-east-1:123456789012:codexgate-AlarmTopic-XYZ
case $args in
*"sts get-caller-identity"*) echo 123456789012 ;;
*"describe-stacks"*Parameters*) [[ -f $FAKE_DIR/params ]] || exit 255; cat "$FAKE_DIR/params" ;;
*"describe-stacks"*AlarmTopicArn*) [[ -f $FAKE_DIR/params ]] || exit 255; echo "$fakeTopic" ;;
*"describe-stacks"*Outputs*) [[ -f $FAKE_DIR/deployed ]] || exit 255
	printf 'ApiUrl\thttps://abc123.execute-api.us-east-1.amazonaws.com/prod/v1\nTableName\tcodexgate-Table-XYZ\nSecretPrefix\tcodexgate/accounts/\n'
	printf 'AlarmTopicArn\t%s\nDashboardUrl\thttps://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/codexgate\n' "$fakeTopic" ;;
*"sns list-subscriptions-by-topic"*"--topic-arn $fakeTopic"*) echo "${FAKE_CONFIRMED:-0}" ;;
*"get-account-settings"*) printf '%s\t%s\n' "$FAKE_LIMIT" "$FAKE_UNRESERVED" ;;
*"get-function-concurrency"*) echo None ;;
*"apigateway get-account"*) echo "${FAKE_APIGW_ROLE:-None}" ;;
*) echo "fake aws: unexpected: $args" >&2; exit 2 ;;
esac
`

type deployRun struct {
	stdout, stderr string
	calls          string // fake sam's record
	err            error
}

func runDeploy(t *testing.T, env map[string]string, prevParams string) deployRun {
	t.Helper()
	dir := t.TempDir()
	if prevParams != "" {
		if err := os.WriteFile(filepath.Join(dir, "params"), []byte(prevParams), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return runScript(t, "deploy.sh", dir, map[string]string{"sam": fakeSAM, "aws": fakeAWS}, env,
		"AWS="+filepath.Join(dir, "aws"), "FAKE_LIMIT=1000", "FAKE_UNRESERVED=1000", "AWS_REGION=us-east-1",
		"ALARM_EMAIL=", "EXISTING_TABLE=", "SCHEDULED_CONCURRENCY=", "STACK=")
}

// runScript runs scripts/SCRIPT with the fakes (name → script, written into
// dir; sam among them) in charge, in the test's environment plus base, then
// env over it, and returns what it printed and what the fake sam recorded.
func runScript(t *testing.T, script, dir string, fakes, env map[string]string, base ...string) deployRun {
	t.Helper()
	for name, body := range fakes {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("bash", filepath.Join(testsupport.RepoRoot(t), "scripts", script))
	cmd.Env = append(os.Environ(), "FAKE_DIR="+dir, "SAM="+filepath.Join(dir, "sam"), "FAKE_SAM_VERSION=1.158.0")
	cmd.Env = append(cmd.Env, base...)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	calls, _ := os.ReadFile(filepath.Join(dir, "calls"))
	return deployRun{stdout.String(), stderr.String(), string(calls), err}
}

// runDeployTTY runs deploy.sh on a fresh stack as `make deploy` from a
// terminal (script(1) gives it one), typing input; the terminal's output
// (stdout and stderr) comes back in stdout.
func runDeployTTY(t *testing.T, input string) deployRun {
	t.Helper()
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("script(1) (util-linux) not found: cannot give deploy.sh a terminal")
	}
	dir := t.TempDir()
	for name, body := range map[string]string{"sam": fakeSAM, "aws": fakeAWS} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("script", "-qec", "bash "+filepath.Join(testsupport.RepoRoot(t), "scripts", "deploy.sh"), "/dev/null")
	cmd.Stdin = strings.NewReader(input)
	cmd.Env = append(os.Environ(), "FAKE_DIR="+dir, "SAM="+filepath.Join(dir, "sam"), "AWS="+filepath.Join(dir, "aws"),
		"FAKE_SAM_VERSION=1.158.0", "FAKE_LIMIT=1000", "FAKE_UNRESERVED=1000", "AWS_REGION=us-east-1",
		"ALARM_EMAIL=", "EXISTING_TABLE=", "SCHEDULED_CONCURRENCY=", "STACK=", "YES=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	calls, _ := os.ReadFile(filepath.Join(dir, "calls"))
	return deployRun{stdout: out.String(), calls: string(calls), err: err}
}

// deployArgs returns the arguments of the fake sam's deploy call.
func (r deployRun) deployArgs(t *testing.T) []string {
	t.Helper()
	for _, call := range strings.Split(r.calls, "== sam\n") {
		if strings.HasPrefix(call, "deploy\n") {
			return strings.Split(strings.TrimSpace(call), "\n")
		}
	}
	t.Fatalf("sam deploy was not run\ncalls:\n%s\nstderr:\n%s", r.calls, r.stderr)
	return nil
}

func TestDeployScript_OldSAM_Refuses(t *testing.T) {
	r := runDeploy(t, map[string]string{"FAKE_SAM_VERSION": "1.157.1"}, "")
	if r.err == nil {
		t.Fatal("deploy.sh succeeded with SAM CLI 1.157.1")
	}
	if !strings.Contains(r.stderr, "1.158.0") || !strings.Contains(r.stderr, "ResponseTransferMode") {
		t.Errorf("stderr does not name the minimum version and why:\n%s", r.stderr)
	}
	if r.calls != "" {
		t.Errorf("sam was run after the version check failed:\n%s", r.calls)
	}
}

func TestDeployScript_FreshStack_BuildsDeploysAndPrintsNextSteps(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: deploy.sh builds build/codexgate")
	}
	r := runDeploy(t, map[string]string{"ALARM_EMAIL": "ops@example.com"}, "")
	if r.err != nil {
		t.Fatalf("deploy.sh: %v\nstderr:\n%s", r.err, r.stderr)
	}
	if !strings.Contains(r.calls, "build\n--region\nus-east-1\nCGO_ENABLED=0\nGOFLAGS="+samGOFLAGSFor(version.Release)) {
		t.Errorf("sam build not run with the make build flags:\n%s", r.calls)
	}
	args := r.deployArgs(t)
	for _, want := range []string{"--stack-name", "codexgate", `ScheduledConcurrency="2"`, `ApiGatewayAccountRole="create"`,
		`AlarmEmail="ops@example.com"`, `ExistingTableName=""`} {
		if !slices.Contains(args, want) {
			t.Errorf("sam deploy args lack %s: %q", want, args)
		}
	}
	if slices.Contains(args, "--guided") {
		t.Error("make deploy must not run --guided (it aborts on the authorizer question)")
	}
	for _, want := range []string{"https://abc123.execute-api.us-east-1.amazonaws.com/prod/v1", "CODEXGATE_TABLE=codexgate-Table-XYZ",
		"codexgate login", "keys create", "doctor", "confirm the subscription"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestDeployScript_SmallConcurrencyQuota_NoReservation(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: deploy.sh builds build/codexgate")
	}
	r := runDeploy(t, map[string]string{"FAKE_LIMIT": "10", "FAKE_UNRESERVED": "10"}, "")
	if r.err != nil {
		t.Fatalf("deploy.sh: %v\nstderr:\n%s", r.err, r.stderr)
	}
	if args := r.deployArgs(t); !slices.Contains(args, `ScheduledConcurrency="0"`) {
		t.Errorf("limit 10: want ScheduledConcurrency=0, got %q", args)
	}
	if !strings.Contains(r.stderr, "WARNING") || !strings.Contains(r.stderr, "quota") {
		t.Errorf("no plain warning about the concurrency quota:\n%s", r.stderr)
	}
}

func TestDeployScript_Redeploy_KeepsStackParameters(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: deploy.sh builds build/codexgate")
	}
	prev := "QuotaRate\trate(30 minutes)\nAlarmEmail\tkept@example.com\nExistingTableName\tcodexgate-old\n" +
		"ApiGatewayAccountRole\texisting\nScheduledConcurrency\t3\nLogRetentionDays\t30\n"
	r := runDeploy(t, map[string]string{"FAKE_APIGW_ROLE": "arn:aws:iam::123456789012:role/x", "PARAMS": "WafRateLimit=300 LogRetentionDays=7"}, prev)
	if r.err != nil {
		t.Fatalf("deploy.sh: %v\nstderr:\n%s", r.err, r.stderr)
	}
	args := r.deployArgs(t)
	for _, want := range []string{`QuotaRate="rate(30 minutes)"`, `AlarmEmail="kept@example.com"`,
		`ExistingTableName="codexgate-old"`, `ApiGatewayAccountRole="existing"`, `ScheduledConcurrency="3"`, `WafRateLimit="300"`, `LogRetentionDays="7"`} {
		if !slices.Contains(args, want) {
			t.Errorf("redeploy lost %s: %q", want, args)
		}
	}
	if slices.Contains(args, `LogRetentionDays="30"`) {
		t.Errorf("PARAMS did not replace the stack's LogRetentionDays: %q", args)
	}
	if strings.Contains(r.stdout, "confirm the subscription") {
		t.Error("asks to confirm a subscription that already existed")
	}
}

// nobody is the loud warning deploy.sh gives when alarms reach nobody.
const nobody = "notify NOBODY"

// TestDeployScript_NoAlarmEmail_NonInteractive_WarnsLoudly: without
// ALARM_EMAIL, with YES=1 or without a terminal, the deploy goes on but
// says, before the build and again last, that alarms reach nobody, with
// the command that subscribes an address to the deployed topic.
func TestDeployScript_NoAlarmEmail_NonInteractive_WarnsLoudly(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: deploy.sh builds build/codexgate")
	}
	for name, env := range map[string]map[string]string{"YES=1": {"YES": "1"}, "no terminal": nil} {
		t.Run(name, func(t *testing.T) {
			r := runDeploy(t, env, "")
			if r.err != nil {
				t.Fatalf("deploy.sh: %v\nstderr:\n%s", r.err, r.stderr)
			}
			if args := r.deployArgs(t); !slices.Contains(args, `AlarmEmail=""`) {
				t.Errorf("want AlarmEmail empty: %q", args)
			}
			if n := strings.Count(r.stderr, nobody); n != 2 {
				t.Errorf("warning given %d times, want twice (before the build, and last):\n%s", n, r.stderr)
			}
			last := r.stderr[strings.LastIndex(r.stderr, nobody):]
			for _, want := range []string{"aws sns subscribe --region us-east-1 --topic-arn arn:aws:sns:us-east-1:123456789012:codexgate-AlarmTopic-XYZ",
				"--protocol email", "codexgate doctor --stack codexgate"} {
				if !strings.Contains(last, want) {
					t.Errorf("the last warning lacks %q:\n%s", want, last)
				}
			}
			if strings.Contains(r.stderr, "e-mail address for the alarms") {
				t.Errorf("asked without a terminal:\n%s", r.stderr)
			}
			if !strings.Contains(r.stdout, "dashboard https://us-east-1.console.aws.amazon.com/cloudwatch/") {
				t.Errorf("output lacks the dashboard URL:\n%s", r.stdout)
			}
		})
	}
}

// TestDeployScript_NoAlarmEmail_Interactive_Asks: from a terminal, deploy.sh
// asks for the address; an answer becomes AlarmEmail, an empty answer goes
// on with the loud warning.
func TestDeployScript_NoAlarmEmail_Interactive_Asks(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: deploy.sh builds build/codexgate")
	}
	r := runDeployTTY(t, "ops@example.com\n")
	if r.err != nil {
		t.Fatalf("deploy.sh: %v\noutput:\n%s", r.err, r.stdout)
	}
	if !strings.Contains(r.stdout, "e-mail address for the alarms") {
		t.Errorf("not asked:\n%s", r.stdout)
	}
	if args := r.deployArgs(t); !slices.Contains(args, `AlarmEmail="ops@example.com"`) {
		t.Errorf("the answer is not AlarmEmail: %q", args)
	}
	if strings.Contains(r.stdout, nobody) || !strings.Contains(r.stdout, "confirm the subscription mail AWS sent to ops@example.com") {
		t.Errorf("output:\n%s", r.stdout)
	}

	r = runDeployTTY(t, "\n")
	if r.err != nil {
		t.Fatalf("deploy.sh: %v\noutput:\n%s", r.err, r.stdout)
	}
	if args := r.deployArgs(t); !slices.Contains(args, `AlarmEmail=""`) {
		t.Errorf("empty answer: want AlarmEmail empty: %q", args)
	}
	if n := strings.Count(r.stdout, nobody); n != 2 {
		t.Errorf("empty answer: warning given %d times, want twice:\n%s", n, r.stdout)
	}

	// Not an address: refused before anything is built or deployed.
	r = runDeployTTY(t, "not-an-address\n")
	if r.err == nil || !strings.Contains(r.stdout, "not an e-mail address") || r.calls != "" {
		t.Errorf("a bad address: err %v, sam calls %q\n%s", r.err, r.calls, r.stdout)
	}
}

// TestDeployScript_AlarmsReachSomeone_NoWarning: an address in PARAMS, or a
// deployed topic with a confirmed subscription (someone subscribed by hand),
// needs neither the question nor the warning.
func TestDeployScript_AlarmsReachSomeone_NoWarning(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: deploy.sh builds build/codexgate")
	}
	r := runDeploy(t, map[string]string{"PARAMS": "AlarmEmail=ops@example.com"}, "")
	if r.err != nil {
		t.Fatalf("deploy.sh: %v\nstderr:\n%s", r.err, r.stderr)
	}
	if args := r.deployArgs(t); !slices.Contains(args, `AlarmEmail="ops@example.com"`) || strings.Contains(r.stderr, nobody) {
		t.Errorf("PARAMS AlarmEmail: args %q\nstderr:\n%s", args, r.stderr)
	}

	prev := "AlarmEmail\t\nApiGatewayAccountRole\tcreate\n"
	r = runDeploy(t, map[string]string{"FAKE_CONFIRMED": "1"}, prev)
	if r.err != nil {
		t.Fatalf("deploy.sh: %v\nstderr:\n%s", r.err, r.stderr)
	}
	if strings.Contains(r.stderr, nobody) || !strings.Contains(r.stderr, "alarm topic: 1 confirmed subscription") {
		t.Errorf("a confirmed subscription on the topic:\n%s", r.stderr)
	}
	// Only a pending one: alarms still reach nobody.
	r = runDeploy(t, map[string]string{"FAKE_CONFIRMED": "0"}, prev)
	if r.err != nil || strings.Count(r.stderr, nobody) != 2 {
		t.Errorf("no confirmed subscription: err %v\n%s", r.err, r.stderr)
	}
}
