package config

import "testing"

func TestFromLookup_DefaultsAndOverrides(t *testing.T) {
	env := map[string]string{"CODEXGATE_TABLE": "t1", "CODEXGATE_TOKEN_URL": "http://127.0.0.1:9/oauth/token"}
	c, err := FromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if c.Table != "t1" || c.TokenURL != env["CODEXGATE_TOKEN_URL"] || c.SecretPrefix != Defaults.SecretPrefix || c.UpstreamURL != Defaults.UpstreamURL {
		t.Fatalf("config = %+v", c)
	}
}

func TestFromLookup_BadURL(t *testing.T) {
	env := map[string]string{"CODEXGATE_UPSTREAM_URL": "chatgpt.com/backend"}
	if _, err := FromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err == nil {
		t.Fatal("want an error for a URL without scheme")
	}
}
