package secretstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/codexgate/codexgate/internal/testsupport"
	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/codex/secretstore"
)

// authJSON is an auth.json document with fields codexgate does not know,
// top-level and inside tokens.
func authJSON(refresh string) string {
	return fmt.Sprintf(`{
  "OPENAI_API_KEY": null,
  "auth_mode": "chatgpt",
  "future_feature": {"nested": [1, 2.5, "x", null, true]},
  "tokens": {
    "id_token": "id-%[1]s",
    "access_token": "access-%[1]s",
    "refresh_token": "%[1]s",
    "account_id": "acc-123",
    "future_token_field": "keep me"
  },
  "last_refresh": "2026-05-01T12:00:00Z"
}`, refresh)
}

func auth(t *testing.T, refresh string) *codex.AuthFile {
	t.Helper()
	a, err := codex.ParseAuthFile("test", []byte(authJSON(refresh)))
	if err != nil {
		t.Fatalf("ParseAuthFile: %v", err)
	}
	return a
}

type env struct {
	store  *secretstore.Store
	sm     *secretsmanager.Client
	prefix string
}

func setup(t *testing.T) *env {
	t.Helper()
	sm := testsupport.SecretsManager(t)
	prefix := testsupport.SecretPrefix(t)
	return &env{store: secretstore.New(sm, prefix), sm: sm, prefix: prefix}
}

// seed creates account with refresh token "r0" and returns its version id.
func (e *env) seed(t *testing.T, account string) string {
	t.Helper()
	id := codex.NewVersionID()
	if err := e.store.Create(context.Background(), account, id, auth(t, "r0")); err != nil {
		t.Fatalf("Create: %v", err)
	}
	return id
}

func (e *env) current(t *testing.T, account string) codex.Version {
	t.Helper()
	v, err := e.store.LoadCurrent(context.Background(), account)
	if err != nil {
		t.Fatalf("LoadCurrent: %v", err)
	}
	return v
}

func jsonEqual(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("unmarshal got: %v", err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("unmarshal want: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("document changed:\ngot  %s\nwant %s", got, want)
	}
}

func TestStore_Create_RoundTripKeepsUnknownFields(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	id := e.seed(t, "alice")
	if len(id) < 32 || len(id) > 64 {
		t.Errorf("version id %q: want 32–64 characters", id)
	}
	v := e.current(t, "alice")
	if v.ID != id || v.Auth.Token.Refresh != "r0" || v.Auth.Token.AccountID != "acc-123" {
		t.Fatalf("LoadCurrent = %s %+v, want version %s with refresh r0", v.ID, v.Auth.Token, id)
	}
	got, err := v.Auth.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, got, []byte(authJSON("r0")))

	// A second Create finds the secret: replacing a login is a pending
	// write and a promote, under the account's lease.
	if err := e.store.Create(ctx, "alice", codex.NewVersionID(), auth(t, "r9")); !errors.Is(err, codex.ErrAccountExists) {
		t.Fatalf("second Create: err = %v, want ErrAccountExists", err)
	}
	if v := e.current(t, "alice"); v.ID != id || v.Auth.Token.Refresh != "r0" {
		t.Errorf("after second Create: current %s (refresh %s), want %s (r0)", v.ID, v.Auth.Token.Refresh, id)
	}
}

func TestStore_WritePending(t *testing.T) {
	tests := []struct {
		name    string
		again   string // refresh token of a second write with the same id; "" = none
		wantErr bool
	}{
		{name: "DoesNotMoveCurrent"},
		{name: "RetrySameDataIsNoop", again: "r1"},
		{name: "SameIDDifferentDataFails", again: "r2", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			ctx := context.Background()
			v0 := e.seed(t, "bob")
			id := codex.NewVersionID()
			if err := e.store.WritePending(ctx, "bob", id, auth(t, "r1")); err != nil {
				t.Fatalf("WritePending: %v", err)
			}
			if tt.again != "" {
				err := e.store.WritePending(ctx, "bob", id, auth(t, tt.again))
				if (err != nil) != tt.wantErr {
					t.Fatalf("repeated WritePending err = %v, wantErr %v", err, tt.wantErr)
				}
			}
			if cur := e.current(t, "bob"); cur.ID != v0 || cur.Auth.Token.Refresh != "r0" {
				t.Errorf("current = %s (refresh %s), want %s (r0) unmoved", cur.ID, cur.Auth.Token.Refresh, v0)
			}
			p, err := e.store.LoadVersion(ctx, "bob", id)
			if err != nil || p.Auth.Token.Refresh != "r1" {
				t.Fatalf("pending version = %+v, %v; want refresh r1", p, err)
			}
			desc, err := e.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(e.prefix + "bob")})
			if err != nil {
				t.Fatal(err)
			}
			if stages := desc.VersionIdsToStages[id]; !slices.Contains(stages, secretstore.StagePending) || slices.Contains(stages, "AWSPENDING") {
				t.Errorf("pending version stages = %v, want CODEXGATE_PENDING only", stages)
			}
		})
	}
}

func TestStore_Promote(t *testing.T) {
	tests := []struct {
		name        string
		run         func(e *env, v0, p1, p2 string) error // returns the checked promote's error
		wantErr     error
		wantCurrent string // "v0", "p1" or "p2"
		// No case promotes a version that was never written: moto then drops
		// AWSCURRENT from the old version before it rejects the call.
	}{
		{
			name:        "MovesCurrent",
			run:         func(e *env, v0, p1, _ string) error { return e.store.Promote(context.Background(), "carol", v0, p1) },
			wantCurrent: "p1",
		},
		{
			name: "RetriedIsNil",
			run: func(e *env, v0, p1, _ string) error {
				if err := e.store.Promote(context.Background(), "carol", v0, p1); err != nil {
					return fmt.Errorf("first promote: %w", err)
				}
				return e.store.Promote(context.Background(), "carol", v0, p1)
			},
			wantCurrent: "p1",
		},
		{
			name: "StaleFromFails",
			run: func(e *env, v0, p1, p2 string) error {
				if err := e.store.Promote(context.Background(), "carol", v0, p1); err != nil {
					return fmt.Errorf("first promote: %w", err)
				}
				return e.store.Promote(context.Background(), "carol", v0, p2) // a holder that read v0
			},
			wantErr:     codex.ErrStaleVersion,
			wantCurrent: "p1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			ctx := context.Background()
			ids := map[string]string{"v0": e.seed(t, "carol"), "p1": codex.NewVersionID(), "p2": codex.NewVersionID()}
			for _, p := range []string{"p1", "p2"} {
				if err := e.store.WritePending(ctx, "carol", ids[p], auth(t, "r-"+p)); err != nil {
					t.Fatalf("WritePending %s: %v", p, err)
				}
			}
			err := tt.run(e, ids["v0"], ids["p1"], ids["p2"])
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Promote err = %v, want %v", err, tt.wantErr)
			}
			if cur := e.current(t, "carol"); cur.ID != ids[tt.wantCurrent] {
				t.Errorf("current = %s (refresh %s), want %s", cur.ID, cur.Auth.Token.Refresh, tt.wantCurrent)
			}
		})
	}
}

func TestStore_Missing(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	e.seed(t, "dave")
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"LoadCurrentAccount", func() error { _, err := e.store.LoadCurrent(ctx, "nobody"); return err }, codex.ErrAccountNotFound},
		{"LoadVersionAccount", func() error {
			_, err := e.store.LoadVersion(ctx, "nobody", codex.NewVersionID())
			return err
		}, codex.ErrVersionNotFound},
		{"LoadVersionVersion", func() error {
			_, err := e.store.LoadVersion(ctx, "dave", codex.NewVersionID())
			return err
		}, codex.ErrVersionNotFound},
		{"WritePendingAccount", func() error {
			return e.store.WritePending(ctx, "nobody", codex.NewVersionID(), auth(t, "r1"))
		}, codex.ErrAccountNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestStore_List_OnlyUnderPrefix(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	for _, a := range []string{"zed", "amy", "team/bo"} {
		e.seed(t, a)
	}
	// Decoys: a sibling prefix that shares the start of ours, and a name
	// that merely contains it.
	sibling := strings.TrimSuffix(e.prefix, "/") + "-old/"
	decoys := []string{sibling + "eve", "x" + e.prefix + "mal"}
	for _, name := range decoys {
		_, err := e.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(authJSON("d"))})
		if err != nil {
			t.Fatalf("create decoy %s: %v", name, err)
		}
		t.Cleanup(func() {
			_, _ = e.sm.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: aws.String(name), ForceDeleteWithoutRecovery: aws.Bool(true)})
		})
	}
	got, err := e.store.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if want := []string{"amy", "team/bo", "zed"}; !slices.Equal(got, want) {
		t.Errorf("List = %v, want %v", got, want)
	}
}

// A new login (import) after refreshes have promoted versions: the new login
// must become current, not the last promoted version.
func TestStore_Promote_AfterPromote(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	v1 := e.seed(t, "acct")
	v2 := codex.NewVersionID()
	if err := e.store.WritePending(ctx, "acct", v2, auth(t, "r1")); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Promote(ctx, "acct", v1, v2); err != nil {
		t.Fatal(err)
	}
	v3 := codex.NewVersionID()
	if err := e.store.WritePending(ctx, "acct", v3, auth(t, "imported")); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Promote(ctx, "acct", v2, v3); err != nil {
		t.Fatal(err)
	}
	if cur := e.current(t, "acct"); cur.ID != v3 || cur.Auth.Token.Refresh != "imported" {
		t.Fatalf("current = %s (%s), want the imported version %s", cur.ID, cur.Auth.Token.Refresh, v3)
	}
}
