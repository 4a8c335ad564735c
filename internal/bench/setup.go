package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/codex/secretstore"
	"github.com/codexgate/codexgate/shared/statestore"
)

// RequestBody is the small streamed Responses API request every scenario
// sends (the simulator's strict rules: instructions, store:false,
// stream:true).
const RequestBody = `{"model":"gpt-5-codex","instructions":"You are Codex.","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"Say hello."}]}],"stream":true,"store":false}`

// ChatRequestBody is RequestBody as a Chat Completions request. Effort
// "minimal" asks for no reasoning summary, so the upstream turn (events and
// bytes) is the one RequestBody gets and the difference between the two
// targets is the translation alone.
const ChatRequestBody = `{"model":"gpt-5-codex","messages":[{"role":"system","content":"You are Codex."},{"role":"user","content":"Say hello."}],"stream":true,"reasoning_effort":"minimal"}`

// ControlledModels is the allow-list of ControlledKey: RequestBody's and
// ChatRequestBody's model among others.
var ControlledModels = []string{"gpt-5.1-codex", "gpt-5-codex", "gpt-5.1-codex-mini"}

// ControlledKey creates a key named name with every routing control set,
// none of which refuses the bench's turns: ControlledModels, bound to the
// tenant's accounts, a concurrency cap above the bench's concurrency.
func ControlledKey(ctx context.Context, states *statestore.Store, ten *Tenant, name string) (string, error) {
	key, ak, err := states.CreateKey(ctx, name+"-"+randHex(4))
	if err != nil {
		return "", fmt.Errorf("create controlled key: %w", err)
	}
	models := slices.Clone(ControlledModels)
	accounts := slices.Sorted(maps.Keys(ten.Accounts))
	limit := 64
	if err := states.UpdateKey(ctx, ak.Name, statestore.KeyChange{Models: &models, Accounts: &accounts, MaxConcurrent: &limit}); err != nil {
		return "", fmt.Errorf("set the controls: %w", err)
	}
	return key, nil
}

// Tenant is one isolated set of accounts and a client key in the shared
// stack: a unique secret prefix (the pool lists only its own accounts) and
// unique names in the table.
type Tenant struct {
	Table, Prefix string
	Key           string // client API key, plaintext
	Accounts      map[string]*codex.AuthFile
	IDs           map[string]string // account name → ChatGPT account id
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (Go ≥ 1.24)
	return hex.EncodeToString(b)
}

// NewTenant stores one simulator account per name under a fresh prefix and
// creates a client key. addAccount returns the auth.json of a new simulator
// account with the given id.
func NewTenant(ctx context.Context, cfg aws.Config, table, label string, names []string, addAccount func(id string) ([]byte, error)) (*Tenant, error) {
	run := randHex(4)
	t := &Tenant{Table: table, Prefix: "codexgate-bench/" + label + "-" + run + "/", Accounts: map[string]*codex.AuthFile{}, IDs: map[string]string{}}
	secrets := secretstore.New(secretsmanager.NewFromConfig(cfg), t.Prefix)
	states := statestore.New(dynamodb.NewFromConfig(cfg), table)
	for _, n := range names {
		// Account state is keyed by name in the one table every tenant
		// shares: a cooldown an earlier section left on "main" (its 401s
		// after a late refresh) must not take this tenant's "main" out.
		if err := states.ClearCooldown(ctx, n); err != nil {
			return nil, fmt.Errorf("clear state of %s: %w", n, err)
		}
		if err := states.ClearReauth(ctx, n); err != nil {
			return nil, fmt.Errorf("clear state of %s: %w", n, err)
		}
		id := "acct-" + label + "-" + n + "-" + run
		raw, err := addAccount(id)
		if err != nil {
			return nil, fmt.Errorf("simulator account %s: %w", n, err)
		}
		a, err := codex.ParseAuthFile(n, raw)
		if err != nil {
			return nil, fmt.Errorf("parse auth %s: %w", n, err)
		}
		if err := secrets.Create(ctx, n, codex.NewVersionID(), a); err != nil {
			return nil, fmt.Errorf("store account %s: %w", n, err)
		}
		if err := states.Register(ctx, n); err != nil {
			return nil, fmt.Errorf("register account %s: %w", n, err)
		}
		t.Accounts[n], t.IDs[n] = a, id
	}
	key, _, err := states.CreateKey(ctx, "bench-"+label+"-"+run)
	if err != nil {
		return nil, fmt.Errorf("create key: %w", err)
	}
	t.Key = key
	return t, nil
}

// Env is the codexgate environment for this tenant against simulator sim.
func (t *Tenant) Env(sim string) []string {
	return []string{
		"CODEXGATE_TABLE=" + t.Table,
		"CODEXGATE_SECRET_PREFIX=" + t.Prefix,
		"CODEXGATE_UPSTREAM_URL=" + sim + "/backend-api/codex",
		"CODEXGATE_TOKEN_URL=" + sim + "/oauth/token",
		"CODEXGATE_USAGE_URL=" + sim + "/backend-api/wham/usage",
	}
}

// Cleanup deletes the tenant's secrets (best effort; the stack is throwaway).
func (t *Tenant) Cleanup(ctx context.Context, cfg aws.Config) {
	sm := secretsmanager.NewFromConfig(cfg)
	for n := range t.Accounts {
		sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(t.Prefix + n), ForceDeleteWithoutRecovery: aws.Bool(true)}) //nolint:errcheck // best effort
	}
}

// client is an HTTP client with a keep-alive pool large enough for c=8.
func client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}
