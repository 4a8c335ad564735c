// Package app wires codexgate's parts from a Config: AWS clients, the token
// store, the lease, the state table and the one Refresher. Every main
// (the three Lambda functions and the CLI) builds its App here, so all paths
// share one refresh routine configured one way.
//
// Files: app.go (App, New, FromEnv, the refresh events' receivers),
// proxy.go (the proxy core), console.go (the operator console), sdklog.go.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/codex/dynamolease"
	"github.com/codexgate/codexgate/shared/codex/secretstore"
	"github.com/codexgate/codexgate/shared/config"
	"github.com/codexgate/codexgate/shared/lambdacpu"
	"github.com/codexgate/codexgate/shared/metrics"
	"github.com/codexgate/codexgate/shared/proxy"
	"github.com/codexgate/codexgate/shared/sdkhttp"
	"github.com/codexgate/codexgate/shared/statestore"
	"github.com/codexgate/codexgate/shared/version"
)

// App holds the wired parts.
type App struct {
	Config  config.Config
	AWS     aws.Config
	Secrets *secretstore.Store
	Leases  *dynamolease.Leaser
	States  *statestore.Store
	// Accounts is the account registry in the table: what the functions
	// list, never ListSecrets.
	Accounts  statestore.Registry
	OAuth     *codex.OAuthClient
	Refresher *codex.Refresher
	HTTP      *http.Client // for upstream calls (proxy, usage)
	Logger    *slog.Logger
	// Metrics receives EMF lines (per-key usage); nil emits none, as
	// `codexgate serve` does: only the functions' stdout becomes metrics.
	Metrics *metrics.Writer
	// Events stores the refresh routine's events in the table
	// (Options.RecordEvents); nil when it does not. WaitEvents waits for
	// its writes.
	Events *statestore.EventLog
}

// WaitEvents waits until the refresh events being recorded are stored,
// or ctx ends: before a process exits or a Lambda invocation returns.
func (a *App) WaitEvents(ctx context.Context) error {
	if a.Events == nil {
		return nil
	}
	return a.Events.Wait(ctx)
}

// Options adjust wiring, mostly for tests and benchmarks.
type Options struct {
	AWS              *aws.Config // default: the SDK's default chain (honours AWS_ENDPOINT_URL)
	Logger           *slog.Logger
	RefresherOptions []codex.Option
	// Metrics is App.Metrics.
	Metrics *metrics.Writer
	// Events hears the refresh routine's alarms (metrics.RefreshEvents in
	// the functions); RecordEvents also stores them in the table, best
	// effort, for the operator console (statestore.EventLog). A
	// codex.WithEvents in RefresherOptions replaces both.
	Events       codex.Events
	RecordEvents bool
}

// New wires an App. It makes no AWS call.
func New(ctx context.Context, cfg config.Config, o Options) (*App, error) {
	var awsCfg aws.Config
	if o.AWS != nil {
		awsCfg = *o.AWS
	} else {
		var err error
		if awsCfg, err = awsconfig.LoadDefaultConfig(ctx); err != nil {
			return nil, fmt.Errorf("load AWS config: %w", err)
		}
	}
	// Every AWS client of every binary sends through sdkhttp (see there).
	awsCfg.HTTPClient = sdkhttp.Wrap(awsCfg.HTTPClient)
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	awsCfg.Logger = SDKLogger(log)
	ddb := dynamodb.NewFromConfig(awsCfg)
	sm := secretsmanager.NewFromConfig(awsCfg)
	a := &App{
		Config:  cfg,
		AWS:     awsCfg,
		Secrets: secretstore.New(sm, cfg.SecretPrefix),
		Leases:  dynamolease.New(ddb, cfg.Table),
		States:  statestore.New(ddb, cfg.Table),
		OAuth:   &codex.OAuthClient{TokenURL: cfg.TokenURL}, // timeouts: codex.DefaultOAuth*
		HTTP:    &http.Client{Transport: proxy.NewTransport()},
		Logger:  log,
		Metrics: o.Metrics,
	}
	a.Accounts = statestore.Registry{Store: a.States, Secrets: a.Secrets, Logger: log}
	var events teeEvents
	if o.Events != nil {
		events = append(events, o.Events)
	}
	if o.RecordEvents {
		a.Events = &statestore.EventLog{Store: a.States, Logger: log}
		events = append(events, a.Events)
	}
	opts := o.RefresherOptions
	if len(events) > 0 {
		opts = append([]codex.Option{codex.WithEvents(events)}, opts...)
	}
	a.Refresher = a.NewRefresher(a.Leases, opts...)
	return a, nil
}

// NewRefresher wires a refresh routine over the App's token store, OAuth
// client, logger and account states, on lease, with opts added: New's own,
// and one a test builds on a lease of its own (a negative control's).
func (a *App) NewRefresher(lease codex.Leaser, opts ...codex.Option) *codex.Refresher {
	base := []codex.Option{codex.WithLogger(a.Logger), codex.WithAccountStates(a.States)}
	return codex.NewRefresher(a.Secrets, lease, a.OAuth, append(base, opts...)...)
}

// FromEnv wires an App from the environment, as every Lambda function's
// main does (the refresh routine's alarms become EMF metrics on stdout).
// It first fits GOMAXPROCS to the function's CPU share (lambdacpu).
func FromEnv(ctx context.Context) (*App, error) {
	procs, fitted := lambdacpu.Fit(os.Getenv)
	cfg, err := config.FromEnv()
	if err != nil {
		return nil, err
	}
	// The functions' stdout goes to CloudWatch Logs, which turns EMF lines
	// into the metrics template.yaml's alarms watch.
	emf := metrics.New(nil)
	a, err := New(ctx, cfg, Options{Events: metrics.RefreshEvents{W: emf}, RecordEvents: true, Metrics: emf})
	if err != nil {
		return nil, err
	}
	// Which build is running: the first line of every cold start.
	a.Logger.Info("codexgate cold start", slog.String("version", version.String()),
		slog.String("function", os.Getenv("AWS_LAMBDA_FUNCTION_NAME")))
	if fitted {
		a.Logger.Info("GOMAXPROCS fitted to the function's CPU share", slog.Int("gomaxprocs", procs),
			slog.String("memory_mb", os.Getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")))
	}
	return a, nil
}

// teeEvents passes each refresh event to every one of its receivers.
type teeEvents []codex.Events

func (t teeEvents) RotatedTokenNotStored(account string) {
	for _, e := range t {
		e.RotatedTokenNotStored(account)
	}
}

func (t teeEvents) LeaseOutlived(account string) {
	for _, e := range t {
		e.LeaseOutlived(account)
	}
}

func (t teeEvents) ReauthRequired(account, reason string) {
	for _, e := range t {
		e.ReauthRequired(account, reason)
	}
}
