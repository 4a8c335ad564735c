package main

import (
	"strings"
	"testing"
)

// These need no AWS: they fail (or answer) before any AWS call.

func TestCLI_Help(t *testing.T) {
	env := cliEnv(nil)
	for _, args := range [][]string{
		{"help"}, {"--help"},
		{"import", "--help"}, {"login", "-h"}, {"keys", "--help"}, {"keys", "create", "--help"},
		{"keys", "list", "--help"}, {"keys", "revoke", "--help"}, {"keys", "update", "--help"}, {"accounts", "--help"},
		{"refresh", "--help"}, {"serve", "--help"},
	} {
		r := runCLI(t, env, "", args...)
		if r.code != 0 || !strings.Contains(r.stdout, "codexgate") || r.stderr != "" {
			t.Errorf("codexgate %s: %s", strings.Join(args, " "), r)
		}
	}
}

func TestCLI_UsageErrors(t *testing.T) {
	env := cliEnv(nil)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"import"}, "--account and --auth-file is required"},
		{[]string{"import", "--account", "a"}, "--auth-file is required"},
		{[]string{"import", "--account", "a b", "--auth-file", "x"}, `account name "a b"`},
		{[]string{"import", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"login"}, "--account is required"},
		{[]string{"login", "--account", "a", "--callback-port", "0"}, "--callback-port 0 out of range"},
		{[]string{"refresh", "--account", "../x"}, `account name "../x"`},
		{[]string{"refresh", "extra"}, `unexpected argument "extra"`},
		{[]string{"keys"}, "want a subcommand"},
		{[]string{"keys", "rotate"}, `unknown keys subcommand "rotate"`},
		{[]string{"keys", "create"}, "--name is required"},
		{[]string{"keys", "revoke"}, "--name is required"},
		{[]string{"keys", "budget", "--name", "intern"}, "want --daily-tokens or --weekly-tokens"},
		{[]string{"keys", "budget", "--name", "intern", "--weekly-tokens", "-7"}, "--weekly-tokens -7: want 0 (none) or more"},
		{[]string{"keys", "create", "--name", "intern", "--daily-tokens", "-3"}, "--daily-tokens -3: want 0 (none) or more"},
		{[]string{"keys", "update"}, "--name is required"},
		{[]string{"keys", "update", "--name", "intern"}, "want --models, --accounts or --max-concurrent"},
		{[]string{"keys", "update", "--name", "intern", "--max-concurrent", "-2"}, "--max-concurrent -2: want 0 (no cap) or more"},
		{[]string{"keys", "create", "--name", "intern", "--max-concurrent", "-1"}, "--max-concurrent -1"},
		{[]string{"keys", "update", "--name", "intern", "--models", "a,,b"}, "empty model name"},
		{[]string{"keys", "update", "--name", "intern", "--accounts", "work,"}, "empty account name"},
		{[]string{"keys", "create", "--name", "intern", "--models", "gpt 5"}, "has a space"},
		{[]string{"keys", "update", "--name", "intern", "--max-concurrent", "x"}, "invalid value"},
		{[]string{"accounts", "--json=maybe"}, "invalid boolean value"},
		{[]string{"serve", "--addr"}, "flag needs an argument"},
	}
	// Bad arguments are refused before any AWS configuration is needed.
	noAWS := append(env, "AWS_REGION=", "AWS_DEFAULT_REGION=", "AWS_CONFIG_FILE=/dev/null", "AWS_PROFILE=")
	for _, tt := range tests {
		mustFail(t, runCLI(t, env, "", tt.args...), 2, tt.want)
		mustFail(t, runCLI(t, noAWS, "", tt.args...), 2, tt.want)
	}
	if r := runCLI(t, env, ""); r.code != 2 || !strings.Contains(r.stderr, "Commands:") {
		t.Errorf("no arguments: %s", r)
	}
}
