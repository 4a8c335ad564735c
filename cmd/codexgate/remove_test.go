package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/shared/statestore"
)

// TestAccountsRemove_RegistryAndSecret: import and login register the
// account in the table; `accounts remove` asks first, then deletes the
// registry item and schedules the secret's deletion (recoverable).
func TestAccountsRemove_RegistryAndSecret(t *testing.T) {
	s := newStack(t, openaisim.Options{})
	fileA, _ := s.newLogin(openaisim.Account{Name: "kim", Email: "kim@example.com"})
	fileB, _ := s.newLogin(openaisim.Account{Name: "lee", Email: "lee@example.com"})
	mustSucceed(t, s.run("import", "--account", "kim", "--auth-file", fileA))
	mustSucceed(t, s.run("import", "--account", "lee", "--auth-file", fileB))
	ctx := context.Background()
	states := statestore.New(dynamodb.NewFromConfig(s.aws), s.table)
	registered := func() []string {
		t.Helper()
		snap, err := states.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return snap.Registered
	}
	if got := registered(); !slices.Equal(got, []string{"kim", "lee"}) {
		t.Fatalf("registry after two imports = %v", got)
	}

	r := s.run("accounts", "remove", "--help")
	mustSucceed(t, r)
	if !strings.Contains(r.stdout, removeUsage) || !strings.Contains(r.stdout, "--recovery-days") {
		t.Errorf("--help = %q", r.stdout)
	}
	mustFail(t, s.run("accounts", "remove"), exitUsage, "want one account NAME")
	mustFail(t, s.run("accounts", "remove", "kim", "--recovery-days", "3"), exitUsage, "7 to 30")
	// Not confirmed: nothing changes.
	mustFail(t, runCLI(t, s.env, "no\n", "accounts", "remove", "kim"), exitFailure, "not confirmed")
	if got := registered(); !slices.Equal(got, []string{"kim", "lee"}) {
		t.Fatalf("registry after a refused removal = %v", got)
	}

	r = runCLI(t, s.env, "yes\n", "accounts", "remove", "kim", "--recovery-days", "7")
	mustSucceed(t, r)
	if !strings.Contains(r.stdout, `removed account "kim"`) {
		t.Errorf("stdout = %q", r.stdout)
	}
	if got := registered(); !slices.Equal(got, []string{"lee"}) {
		t.Errorf("registry after removing kim = %v", got)
	}
	prefix := envValue(s.env, "CODEXGATE_SECRET_PREFIX=")
	desc, err := secretsmanager.NewFromConfig(s.aws).DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(prefix + "kim")})
	if err != nil || desc.DeletedDate == nil {
		t.Errorf("kim's secret: deleted date %v, err %v; want it scheduled for deletion", desc, err)
	}
	r = s.run("accounts")
	mustSucceed(t, r)
	if strings.Contains(r.stdout, "kim") || !strings.Contains(r.stdout, "lee") {
		t.Errorf("accounts after removal:\n%s", r.stdout)
	}

	// Removing again (the secret is already scheduled): the registry item
	// is gone either way; --yes asks nothing.
	mustSucceed(t, s.run("accounts", "remove", "lee", "--yes"))
	if got := registered(); len(got) != 0 {
		t.Errorf("registry = %v, want empty", got)
	}
}

func envValue(env []string, prefix string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, prefix); ok {
			return v
		}
	}
	return ""
}
