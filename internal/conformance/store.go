package conformance

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/codexgate/codexgate/shared/codex"
)

// StoreEnv is a fresh, empty token store and how to put a raw document into
// it outside the protocol (an unreadable secret, as the AWS console can
// write one), returning the new current version id.
type StoreEnv struct {
	Store  codex.TokenStore
	PutRaw func(t *testing.T, account string, doc []byte) string
}

// TokenStore runs the token store contract against the stores newEnv
// returns. Account names are unique per subtest.
func TokenStore(t *testing.T, newEnv func(t *testing.T) StoreEnv) {
	ctx := context.Background()
	login := func(t *testing.T, refresh string) *codex.AuthFile {
		t.Helper()
		a, err := codex.ParseAuthFile("conformance", []byte(fmt.Sprintf(
			`{"tokens":{"id_token":"id","access_token":"access-%[1]s","refresh_token":"%[1]s","account_id":"acct"},"extra":"kept"}`, refresh)))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}

	t.Run("MissingAccount", func(t *testing.T) {
		s := newEnv(t).Store
		if _, err := s.LoadCurrent(ctx, "nobody"); !errors.Is(err, codex.ErrAccountNotFound) {
			t.Fatalf("LoadCurrent: %v, want ErrAccountNotFound", err)
		}
	})

	t.Run("CreateThenExists", func(t *testing.T) {
		s := newEnv(t).Store
		id := codex.NewVersionID()
		if err := s.Create(ctx, "a", id, login(t, "r1")); err != nil {
			t.Fatal(err)
		}
		if err := s.Create(ctx, "a", codex.NewVersionID(), login(t, "r2")); !errors.Is(err, codex.ErrAccountExists) {
			t.Fatalf("second Create: %v, want ErrAccountExists", err)
		}
		v, err := s.LoadCurrent(ctx, "a")
		if err != nil || v.ID != id || v.Auth.Token.Refresh != "r1" {
			t.Fatalf("LoadCurrent: %+v, %v", v, err)
		}
	})

	t.Run("PendingThenPromote", func(t *testing.T) {
		s := newEnv(t).Store
		base := codex.NewVersionID()
		if err := s.Create(ctx, "a", base, login(t, "r1")); err != nil {
			t.Fatal(err)
		}
		next := codex.NewVersionID()
		for range 2 { // a retried write with the same id and data is a no-op
			if err := s.WritePending(ctx, "a", next, login(t, "r2")); err != nil {
				t.Fatalf("WritePending: %v", err)
			}
		}
		if err := s.WritePending(ctx, "a", next, login(t, "other")); err == nil {
			t.Fatal("WritePending with the same id and other data succeeded")
		}
		if v, _ := s.LoadCurrent(ctx, "a"); v.ID != base {
			t.Fatalf("a pending write moved AWSCURRENT to %s", v.ID)
		}
		if v, err := s.LoadVersion(ctx, "a", next); err != nil || v.Auth.Token.Refresh != "r2" {
			t.Fatalf("LoadVersion(pending): %+v, %v", v, err)
		}
		if err := s.Promote(ctx, "a", base, next); err != nil {
			t.Fatal(err)
		}
		if err := s.Promote(ctx, "a", base, next); err != nil {
			t.Fatalf("a retried promote: %v, want nil", err)
		}
		if v, _ := s.LoadCurrent(ctx, "a"); v.ID != next {
			t.Fatalf("current %s after promote, want %s", v.ID, next)
		}
	})

	t.Run("PromoteIsCompareAndSwap", func(t *testing.T) {
		s := newEnv(t).Store
		base := codex.NewVersionID()
		if err := s.Create(ctx, "a", base, login(t, "r1")); err != nil {
			t.Fatal(err)
		}
		winner, loser := codex.NewVersionID(), codex.NewVersionID()
		for id, rt := range map[string]string{winner: "w", loser: "l"} {
			if err := s.WritePending(ctx, "a", id, login(t, rt)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Promote(ctx, "a", base, winner); err != nil {
			t.Fatal(err)
		}
		if err := s.Promote(ctx, "a", base, loser); !errors.Is(err, codex.ErrStaleVersion) {
			t.Fatalf("promote from a base no longer current: %v, want ErrStaleVersion", err)
		}
		if err := s.Promote(ctx, "a", winner, codex.NewVersionID()); !errors.Is(err, codex.ErrVersionNotFound) {
			t.Fatalf("promote to a version never written: %v, want ErrVersionNotFound", err)
		}
		if v, _ := s.LoadCurrent(ctx, "a"); v.ID != winner {
			t.Fatalf("current %s, want the winner", v.ID)
		}
	})

	t.Run("MissingVersion", func(t *testing.T) {
		s := newEnv(t).Store
		if err := s.Create(ctx, "a", codex.NewVersionID(), login(t, "r1")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.LoadVersion(ctx, "a", codex.NewVersionID()); !errors.Is(err, codex.ErrVersionNotFound) {
			t.Fatalf("LoadVersion: %v, want ErrVersionNotFound", err)
		}
	})

	t.Run("UnreadableVersionKeepsItsID", func(t *testing.T) {
		env := newEnv(t)
		if err := env.Store.Create(ctx, "a", codex.NewVersionID(), login(t, "r1")); err != nil {
			t.Fatal(err)
		}
		id := env.PutRaw(t, "a", []byte(`{"tokens":{"access_token":"no refresh token"}}`))
		v, err := env.Store.LoadCurrent(ctx, "a")
		if !errors.Is(err, codex.ErrInvalidAuthFile) || v.ID != id {
			t.Fatalf("LoadCurrent of an unreadable version: id %q, %v; want id %q and ErrInvalidAuthFile", v.ID, err, id)
		}
	})
}
