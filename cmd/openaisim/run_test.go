package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRun_ServesAccountsAndStops(t *testing.T) {
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--accounts", "2", "--auth-dir", filepath.Join(dir, "auth"), "--ready-file", ready, "--access-ttl", "30m"}, &stdout, &stderr)
	}()
	var base string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile(ready); err == nil {
			base = strings.TrimSpace(string(b))
			break
		}
	}
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("ready file: %q (stderr %s)", base, stderr.String())
	}
	for _, name := range []string{"account1", "account2"} {
		path := filepath.Join(dir, "auth", name+".auth.json")
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", path, err, fi)
		}
		raw, _ := os.ReadFile(path)
		var doc struct {
			Tokens struct {
				Access  string `json:"access_token"`
				Account string `json:"account_id"`
			} `json:"tokens"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil || doc.Tokens.Access == "" {
			t.Fatalf("%s: %v %s", path, err, raw)
		}
		req, _ := http.NewRequest("GET", base+"/backend-api/wham/usage", nil)
		req.Header.Set("Authorization", "Bearer "+doc.Tokens.Access)
		req.Header.Set("ChatGPT-Account-Id", doc.Tokens.Account)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("usage with %s: %v %v", name, err, resp)
		}
		resp.Body.Close()
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
	if want := "openaisim listening on " + base + "\n"; stdout.String() != want {
		t.Fatalf("stdout %q, want %q", stdout.String(), want)
	}
}

func TestParseFlags_Rejects(t *testing.T) {
	for _, args := range [][]string{{"--accounts", "2"}, {"extra"}, {"--nope"}} {
		if _, err := parseFlags(args, &bytes.Buffer{}); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}
