package codex

import "context"

// Version is one stored version of an account's auth.json.
type Version struct {
	ID   string // the secret version id
	Auth *AuthFile
}

// TokenStore holds one auth.json secret per account, versioned. Only the
// Refresher writes rotated tokens through it.
type TokenStore interface {
	// LoadCurrent reads the AWSCURRENT version, never from a cache.
	// A missing secret is ErrAccountNotFound.
	LoadCurrent(ctx context.Context, account string) (Version, error)
	// LoadVersion reads one version by id; ErrVersionNotFound if absent.
	LoadVersion(ctx context.Context, account, versionID string) (Version, error)
	// WritePending stores a as version versionID under a pending label,
	// without moving AWSCURRENT. Repeating it with the same data is a no-op,
	// so a timed-out write can be retried with the same id.
	WritePending(ctx context.Context, account, versionID string, a *AuthFile) error
	// Promote moves AWSCURRENT from version from to version to, and fails
	// with ErrStaleVersion when from no longer holds it.
	Promote(ctx context.Context, account, from, to string) error
	// Create makes account's secret with a as its first, current version;
	// ErrAccountExists when the secret exists already.
	Create(ctx context.Context, account, versionID string, a *AuthFile) error
}

// AccountStates records account health outside the token store, for the
// proxy's pool and `codexgate accounts`.
type AccountStates interface {
	MarkReauthRequired(ctx context.Context, account, reason string) error
	// VersionStored records that version is now account's current version:
	// a cooldown set against an older token no longer applies, in any
	// container. login says a person stored a new login (import, login):
	// reauth_required and every cooldown end, and warm containers drop
	// what they cached of the account.
	VersionStored(ctx context.Context, account, version string, login bool) error
}
