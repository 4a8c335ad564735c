package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/codexgate/codexgate/shared/app"
	"github.com/codexgate/codexgate/shared/config"
	"github.com/codexgate/codexgate/shared/sse"
	"github.com/codexgate/codexgate/shared/statestore"
)

// DoctorCommand checks a deployment end to end, as a user would use it,
// and says how to fix each failure.
type DoctorCommand struct{ m *Main }

// check is one line of the verdict.
type check struct {
	name   string
	status string   // checkPass, checkFail, checkSkip
	detail string   // what was found
	fix    string   // what to do, for a failure
	more   []string // extra lines (one per account)
}

const (
	checkPass = "PASS"
	checkFail = "FAIL"
	checkSkip = "SKIP" // not run because an earlier check failed; counts as not passed
)

// doctorTurn is the smallest Responses request the Codex backend accepts.
const doctorTurn = `{"model":%q,"instructions":"You are a health check. Reply with one word.","input":[{"role":"user","content":[{"type":"input_text","text":"Reply with the word ok."}]}],"stream":true,"store":false}`

// Run executes `codexgate doctor`.
func (c *DoctorCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet(c.m, "doctor", "codexgate doctor [--url URL | --stack NAME] [--model M]",
		"Checks a codexgate deployment the way a client uses it, and prints one line per check with\n"+
			"the fix for each failure: the client key (CODEXGATE_API_KEY), the endpoint (--url, else the\n"+
			"ApiUrl output of CloudFormation stack --stack; then also that the stack has its schedules\n"+
			"and alarms, and that its alarm topic has a confirmed subscription), the DynamoDB table\n"+
			"(the stack's TableName output, else CODEXGATE_TABLE), GET /v1/models, a small streamed\n"+
			"turn, and every account's\n"+
			"state (ok, cooling down, re-login needed, last refresh, quota). Exit status 0 only when\n"+
			"every check passes. The key is never printed.")
	url := fs.String("url", "", "the API base URL, ending in /v1 (default: the stack's ApiUrl output)")
	stack := fs.String("stack", envOr("CODEXGATE_STACK", "codexgate"), "CloudFormation stack to read ApiUrl and TableName from when --url is not given")
	model := fs.String("model", "", "model for the streamed turn (default: the first of GET /v1/models)")
	timeout := fs.Duration("timeout", 2*time.Minute, "limit for each HTTP check")
	if err := fs.parse(args); err != nil {
		return err
	}
	d := &doctor{out: c.m.Stdout, key: strings.TrimSpace(os.Getenv("CODEXGATE_API_KEY")),
		http: &http.Client{Timeout: *timeout}, model: *model}
	return d.run(ctx, strings.TrimSpace(*url), *stack)
}

type doctor struct {
	out    io.Writer
	key    string
	http   *http.Client
	model  string
	checks []check
}

func (d *doctor) add(c check) { d.checks = append(d.checks, c) }

func (d *doctor) run(ctx context.Context, url, stack string) error {
	d.add(d.checkKey())

	cfg, cfgErr := config.FromEnv()
	var a *app.App
	if cfgErr == nil {
		var err error
		a, err = app.New(ctx, cfg, app.Options{Logger: discardLogger()})
		if err == nil && a.AWS.Region == "" {
			err = errors.New("no AWS region configured: set AWS_REGION")
		}
		if err != nil {
			cfgErr, a = err, nil
		}
	}

	// Endpoint and table: from --url and the environment, or from the
	// stack's outputs.
	tableFrom := "CODEXGATE_TABLE"
	var stackCheck, alarmCheck *check // only when the endpoint came from a stack
	if url == "" {
		ep := check{name: "endpoint"}
		if a == nil {
			ep.status, ep.detail = checkFail, fmt.Sprintf("no --url, and the stack cannot be read: %v", cfgErr)
			ep.fix = "pass --url https://<api-id>.execute-api.<region>.amazonaws.com/<stage>/v1, or set AWS credentials and AWS_REGION"
		} else if out, err := stackOutputs(ctx, a.AWS, stack); err != nil {
			ep.status, ep.detail = checkFail, fmt.Sprintf("stack %q: %v", stack, err)
			ep.fix = "deploy with `make deploy`, or pass --stack NAME (your stack) or --url; check AWS_REGION is the stack's region"
		} else if out["ApiUrl"] == "" {
			ep.status, ep.detail = checkFail, fmt.Sprintf("stack %q has no ApiUrl output", stack)
			ep.fix = "is it a codexgate stack? pass --url"
		} else {
			url = out["ApiUrl"]
			ep.status, ep.detail = checkPass, fmt.Sprintf("%s (stack %s, region %s)", url, stack, a.AWS.Region)
			sc := d.checkStack(ctx, a.AWS, stack)
			stackCheck = &sc
			ac := checkAlarmTopic(ctx, sns.NewFromConfig(a.AWS), a.AWS.Region, stack, out["AlarmTopicArn"])
			alarmCheck = &ac
			if t := out["TableName"]; t != "" {
				cfg.Table, tableFrom = t, "stack output TableName"
				a, _ = app.New(ctx, cfg, app.Options{AWS: &a.AWS, Logger: discardLogger()})
			}
		}
		d.add(ep)
	} else {
		d.add(check{name: "endpoint", status: checkPass, detail: url + " (--url)"})
	}
	url = strings.TrimRight(url, "/")
	if url != "" && !strings.HasSuffix(url, "/v1") {
		url += "/v1"
	}

	if stackCheck != nil {
		d.add(*stackCheck)
		d.add(*alarmCheck)
	}
	d.add(d.checkTable(ctx, a, cfgErr, tableFrom))
	d.checkAPI(ctx, url)
	d.add(d.checkAccounts(ctx, a, cfgErr))
	return d.verdict()
}

func (d *doctor) checkKey() check {
	c := check{name: "key"}
	switch {
	case d.key == "":
		c.status, c.detail = checkFail, "CODEXGATE_API_KEY is not set"
		c.fix = "create a key with `codexgate keys create --name NAME` and export CODEXGATE_API_KEY=<the key>"
	case !strings.HasPrefix(d.key, statestore.KeyPrefix):
		c.status, c.detail = checkFail, "CODEXGATE_API_KEY does not look like a codexgate key (they start with "+statestore.KeyPrefix+")"
		c.fix = "use a key from `codexgate keys create`, not an OpenAI or AWS key"
	default:
		c.status, c.detail = checkPass, "CODEXGATE_API_KEY is set"
	}
	return c
}

func (d *doctor) checkTable(ctx context.Context, a *app.App, cfgErr error, from string) check {
	c := check{name: "table"}
	if a == nil {
		c.status, c.detail = checkFail, fmt.Sprintf("cannot reach AWS: %v", cfgErr)
		c.fix = "set AWS credentials and AWS_REGION (the stack's region)"
		return c
	}
	name := a.Config.Table
	out, err := dynamodb.NewFromConfig(a.AWS).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	var nf *ddbtypes.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		c.status, c.detail = checkFail, fmt.Sprintf("table %q (%s) does not exist in %s", name, from, a.AWS.Region)
		c.fix = "set CODEXGATE_TABLE to the stack's TableName output (or run doctor without --url to read it); " +
			"after `sam delete` redeploy onto the kept table with `make deploy EXISTING_TABLE=<name>`"
	case err != nil:
		c.status, c.detail = checkFail, fmt.Sprintf("describe table %q: %v", name, err)
		c.fix = "check AWS credentials, AWS_REGION and dynamodb:DescribeTable permission"
	default:
		c.status, c.detail = checkPass, fmt.Sprintf("%s (%s), %s", name, from, out.Table.TableStatus)
	}
	return c
}

// checkAPI runs GET /v1/models and one streamed turn.
func (d *doctor) checkAPI(ctx context.Context, url string) {
	models, turn := check{name: "models"}, check{name: "turn"}
	if url == "" || d.key == "" {
		why := "no endpoint"
		if d.key == "" {
			why = "no key"
		}
		models.status, models.detail = checkSkip, why
		turn.status, turn.detail = checkSkip, why
		d.add(models)
		d.add(turn)
		return
	}
	ids, err := d.listModels(ctx, url)
	if err != nil {
		models.status, models.detail, models.fix = checkFail, err.Error(), fixFor(err)
		turn.status, turn.detail = checkSkip, "GET /v1/models failed"
		d.add(models)
		d.add(turn)
		return
	}
	models.status, models.detail = checkPass, fmt.Sprintf("GET /v1/models: %d models", len(ids))
	d.add(models)

	model := d.model
	if model == "" && len(ids) > 0 {
		model = ids[0]
	}
	start := time.Now()
	text, err := d.streamTurn(ctx, url, model)
	if err != nil {
		turn.status, turn.detail, turn.fix = checkFail, fmt.Sprintf("streamed turn with %s: %v", model, err), fixFor(err)
	} else {
		turn.status = checkPass
		turn.detail = fmt.Sprintf("streamed turn with %s completed in %s (%d characters)", model, time.Since(start).Round(time.Millisecond), len(text))
	}
	d.add(turn)
}

// httpError is a non-2xx answer: its status and the error message of an
// OpenAI-shaped body.
type httpError struct {
	status  int
	message string
}

func (e *httpError) Error() string {
	if e.message == "" {
		return fmt.Sprintf("HTTP %d", e.status)
	}
	return fmt.Sprintf("HTTP %d: %s", e.status, e.message)
}

// fixFor says what to do about a failed API check.
func fixFor(err error) string {
	var he *httpError
	if !errors.As(err, &he) {
		return "is the endpoint reachable? (the ApiUrl output, or `codexgate serve` running); check the URL"
	}
	switch {
	case he.status == http.StatusUnauthorized:
		return "the key is unknown or revoked: `codexgate keys list`, then `codexgate keys create --name NAME` and export CODEXGATE_API_KEY"
	case he.status == http.StatusForbidden || he.status == http.StatusNotFound:
		return "wrong path or stage: use the stack's ApiUrl output, which ends in /<stage>/v1"
	case he.status == http.StatusTooManyRequests:
		return "throttled: the stage's ApiRateLimit/ApiBurstLimit, or every account is at its usage limit (`codexgate accounts`)"
	case he.status >= 500:
		return "the proxy failed: `codexgate accounts` (a usable account?), and the proxy's log group /aws/lambda/<stack>-proxy"
	}
	return "see the message; `codexgate accounts`"
}

func (d *doctor) do(ctx context.Context, method, url, body string) (*http.Response, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+d.key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := d.http.Do(req)
	if err != nil {
		// The URL carries no secret; the error names only the host.
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
			Message string `json:"message"` // API Gateway's own errors
		}
		_ = json.Unmarshal(b, &e)
		msg := e.Error.Message
		if msg == "" {
			msg = e.Message
		}
		return nil, &httpError{status: resp.StatusCode, message: oneLine(msg)}
	}
	return resp, nil
}

func (d *doctor) listModels(ctx context.Context, url string) ([]string, error) {
	resp, err := d.do(ctx, http.MethodGet, url+"/models", "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	// Codex's shape (models[].slug, the backend's models) and OpenAI's
	// (data[].id, which adds effort-suffixed names and aliases): either
	// names the models, the backend's first.
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
		Models []struct {
			Slug string `json:"slug"`
		} `json:"models"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&list); err != nil {
		return nil, fmt.Errorf("GET /v1/models: not a model list: %v", err)
	}
	var ids []string
	for _, m := range list.Models {
		ids = append(ids, m.Slug)
	}
	if len(ids) == 0 {
		for _, m := range list.Data {
			ids = append(ids, m.ID)
		}
	}
	if len(ids) == 0 {
		return nil, errors.New("GET /v1/models: empty model list")
	}
	return ids, nil
}

// streamTurn posts a streamed turn and returns its text once
// response.completed arrives.
func (d *doctor) streamTurn(ctx context.Context, url, model string) (string, error) {
	resp, err := d.do(ctx, http.MethodPost, url+"/responses", fmt.Sprintf(doctorTurn, model))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return "", fmt.Errorf("answer is %q, not an event stream", ct)
	}
	var text strings.Builder
	sr := sse.NewReader(resp.Body, nil)
	defer sr.Release()
	for {
		raw, err := sr.NextEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("stream cut: %v", err)
		}
		var ev struct {
			Type     string `json:"type"`
			Delta    string `json:"delta"`
			Message  string `json:"message"`
			Response struct {
				Error *struct {
					Message string `json:"message"`
				} `json:"error"`
			} `json:"response"`
		}
		if json.Unmarshal(sse.Parse(raw).Data, &ev) != nil {
			continue
		}
		switch ev.Type {
		case "response.output_text.delta":
			text.WriteString(ev.Delta)
		case "response.completed":
			return text.String(), nil
		case "response.failed", "error":
			msg := ev.Message
			if ev.Response.Error != nil {
				msg = ev.Response.Error.Message
			}
			return "", &httpError{status: http.StatusBadGateway, message: "the turn failed: " + oneLine(msg)}
		}
	}
	return "", errors.New("the stream ended without response.completed")
}

func (d *doctor) checkAccounts(ctx context.Context, a *app.App, cfgErr error) check {
	c := check{name: "accounts"}
	if a == nil {
		c.status, c.detail = checkFail, fmt.Sprintf("cannot reach AWS: %v", cfgErr)
		c.fix = "set AWS credentials and AWS_REGION (the stack's region)"
		return c
	}
	now := time.Now()
	rows, err := loadAccountRows(ctx, a, now)
	if err != nil {
		c.status, c.detail = checkFail, oneLine(err.Error())
		c.fix = "the table and secret prefix must be the stack's (CODEXGATE_TABLE, CODEXGATE_SECRET_PREFIX); check AWS permissions"
		return c
	}
	if len(rows) == 0 {
		c.status, c.detail = checkFail, fmt.Sprintf("no accounts under secret prefix %q", a.Config.SecretPrefix)
		c.fix = "add one: `codexgate login --account NAME` (or CODEXGATE_SECRET_PREFIX if you changed SecretPrefix)"
		return c
	}
	var bad, cooling, paused []string
	for _, r := range rows {
		state := r.Status
		switch r.Status {
		case statusReauth:
			state = "re-login needed (" + oneLine(r.Reason) + ")"
			bad = append(bad, r.Name)
		case statusUnreadable:
			state = "unreadable secret (" + oneLine(r.Reason) + ")"
			bad = append(bad, r.Name)
		}
		if r.Status == statusOK && r.CooldownUntil != nil && r.CooldownUntil.After(now) {
			state = "cooling down for " + until(now, *r.CooldownUntil)
			if r.CooldownReason != "" {
				state += " (" + r.CooldownReason + ")"
			}
			if !r.Paused {
				cooling = append(cooling, r.Name)
			}
		}
		if r.Paused {
			// Not a failure: an operator's choice. Still refreshed and
			// polled, so a resume serves at once.
			state = "paused (serves nothing until `codexgate accounts resume " + r.Name + "`); " + state
			if r.Status == statusOK {
				paused = append(paused, r.Name)
			}
		}
		if r.Priority != 0 {
			state += fmt.Sprintf("; priority %d", r.Priority)
		}
		c.more = append(c.more, fmt.Sprintf("%s: %s; last refresh %s; 5h %s, week %s used",
			r.Name, state, ago(now, r.LastRefresh), percent(r.FiveHour), percent(r.Weekly)))
	}
	summary := fmt.Sprintf("%d accounts, %d ok", len(rows), len(rows)-len(bad)-len(cooling)-len(paused))
	if len(cooling) > 0 {
		summary += fmt.Sprintf(", %d cooling down", len(cooling))
	}
	if len(paused) > 0 {
		summary += fmt.Sprintf(", %d paused", len(paused))
	}
	if n := pausedCount(rows); n == len(rows) {
		c.status = checkFail
		c.detail = fmt.Sprintf("EVERY ACCOUNT IS PAUSED (%d): the proxy serves nothing", n)
		c.fix = fmt.Sprintf("resume one: `codexgate accounts resume %s`", rows[0].Name)
		return c
	}
	if len(bad) > 0 {
		c.status, c.detail = checkFail, summary+fmt.Sprintf(", %d need attention", len(bad))
		c.fix = fmt.Sprintf("log in again: `codexgate login --account %s` (or `codexgate import`)", bad[0])
		if len(bad) > 1 {
			c.fix += fmt.Sprintf(", and likewise for %s", strings.Join(bad[1:], ", "))
		}
		return c
	}
	c.status, c.detail = checkPass, summary
	return c
}

// verdict prints every check and returns nil only when all passed.
func (d *doctor) verdict() error {
	var failed []string
	for _, c := range d.checks {
		fmt.Fprintf(d.out, "%s  %-8s  %s\n", c.status, c.name, c.detail)
		for _, l := range c.more {
			fmt.Fprintf(d.out, "                  %s\n", l)
		}
		if c.fix != "" {
			fmt.Fprintf(d.out, "      fix: %s\n", c.fix)
		}
		if c.status != checkPass {
			failed = append(failed, c.name)
		}
	}
	if len(failed) == 0 {
		fmt.Fprintf(d.out, "verdict: all %d checks passed\n", len(d.checks))
		return nil
	}
	fmt.Fprintf(d.out, "verdict: %d of %d checks did not pass\n", len(failed), len(d.checks))
	return fmt.Errorf("%d of %d checks did not pass: %s", len(failed), len(d.checks), strings.Join(failed, ", "))
}

// stackSchedules and stackAlarms are the template's logical ids of the
// keep-alive and quota schedules and of the alarms (internal/samtemplate
// asserts the template has exactly these): a stack without them refreshes
// nothing or tells nobody.
var (
	stackSchedules = []string{"QuotaCronFunctionSchedule", "RefreshFunctionSchedule"}
	stackAlarms    = []string{"RefreshFailuresAlarm", "ReauthRequiredAlarm", "RotatedTokenNotStoredAlarm", "LeaseOutlivedAlarm",
		"ProxyErrorsAlarm", "ThrottlesAlarm", "QuotaCronErrorsAlarm", "RefreshErrorsAlarm", "NoAccountAvailableAlarm",
		"QuotaFailuresAlarm"}
)

// checkStack checks the stack is in a complete state and holds the
// schedules and the alarms.
func (d *doctor) checkStack(ctx context.Context, cfg aws.Config, name string) check {
	c := check{name: "stack"}
	cf := cloudformation.NewFromConfig(cfg)
	out, err := cf.DescribeStackResources(ctx, &cloudformation.DescribeStackResourcesInput{StackName: aws.String(name)})
	if err != nil {
		c.status, c.detail = checkFail, fmt.Sprintf("stack %q resources: %v", name, err)
		c.fix = "check cloudformation:DescribeStackResources permission"
		return c
	}
	have := map[string]string{}
	for _, r := range out.StackResources {
		have[aws.ToString(r.LogicalResourceId)] = string(r.ResourceStatus)
	}
	var missing []string
	for _, id := range append(slices.Clone(stackSchedules), stackAlarms...) {
		if st, ok := have[id]; !ok || !strings.HasSuffix(st, "_COMPLETE") || strings.HasPrefix(st, "DELETE") {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		c.status = checkFail
		c.detail = fmt.Sprintf("stack %q lacks %s", name, strings.Join(missing, ", "))
		c.fix = "deploy the current template with `make deploy`"
		return c
	}
	c.status = checkPass
	c.detail = fmt.Sprintf("stack %s: %d schedules, %d alarms", name, len(stackSchedules), len(stackAlarms))
	return c
}

// stackOutputs returns the outputs of CloudFormation stack name.
func stackOutputs(ctx context.Context, cfg aws.Config, name string) (map[string]string, error) {
	out, err := cloudformation.NewFromConfig(cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("describe stack: %w", err)
	}
	if len(out.Stacks) == 0 {
		return nil, errors.New("no such stack")
	}
	m := map[string]string{}
	for _, o := range out.Stacks[0].Outputs {
		m[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return m, nil
}

func envOr(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// pausedCount is how many of rows are paused, whatever their health.
func pausedCount(rows []accountRow) int {
	n := 0
	for _, r := range rows {
		if r.Paused {
			n++
		}
	}
	return n
}
