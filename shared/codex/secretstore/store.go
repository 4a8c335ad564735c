package secretstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/codexgate/codexgate/shared/codex"
)

// Version stage labels.
const (
	StageCurrent = "AWSCURRENT"
	// StagePending labels a version the Refresher wrote but has not promoted.
	// Not AWSPENDING: that label belongs to AWS rotation and blocks it.
	StagePending = "CODEXGATE_PENDING"
)

// SecretsManagerAPI is the part of the Secrets Manager client the Store uses.
type SecretsManagerAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	UpdateSecretVersionStage(ctx context.Context, in *secretsmanager.UpdateSecretVersionStageInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error)
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	ListSecrets(ctx context.Context, in *secretsmanager.ListSecretsInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error)
	DeleteSecret(ctx context.Context, in *secretsmanager.DeleteSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error)
}

// Store keeps one auth.json secret per account under a name prefix.
type Store struct {
	client SecretsManagerAPI
	prefix string
}

var _ codex.TokenStore = (*Store)(nil)

// New returns a Store for secrets named prefix+account.
func New(client SecretsManagerAPI, prefix string) *Store {
	return &Store{client: client, prefix: prefix}
}

// SecretName returns the name of account's secret.
func (s *Store) SecretName(account string) string { return s.prefix + account }

// LoadCurrent reads account's AWSCURRENT version. A missing secret is
// codex.ErrAccountNotFound.
func (s *Store) LoadCurrent(ctx context.Context, account string) (codex.Version, error) {
	out, err := s.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId:     aws.String(s.SecretName(account)),
		VersionStage: aws.String(StageCurrent), // moto returns a stale version without it
	})
	if isNotFound(err) {
		return codex.Version{}, fmt.Errorf("load account %q: %w", account, codex.ErrAccountNotFound)
	}
	if err != nil {
		return codex.Version{}, fmt.Errorf("load account %q: %w", account, err)
	}
	return decode(account, out)
}

// LoadVersion reads one version of account's secret. A missing version (or
// secret) is codex.ErrVersionNotFound.
func (s *Store) LoadVersion(ctx context.Context, account, versionID string) (codex.Version, error) {
	out, err := s.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId:  aws.String(s.SecretName(account)),
		VersionId: aws.String(versionID),
	})
	if isNotFound(err) {
		return codex.Version{}, fmt.Errorf("load account %q version %s: %w", account, versionID, codex.ErrVersionNotFound)
	}
	if err != nil {
		return codex.Version{}, fmt.Errorf("load account %q version %s: %w", account, versionID, err)
	}
	return decode(account, out)
}

// WritePending stores a as version versionID labelled CODEXGATE_PENDING,
// leaving AWSCURRENT where it is. Repeating it with the same id and data is a
// no-op; the same id with different data is an error.
func (s *Store) WritePending(ctx context.Context, account, versionID string, a *codex.AuthFile) error {
	data, err := a.MarshalJSON()
	if err != nil {
		return fmt.Errorf("write pending %s for account %q: %w", versionID, account, err)
	}
	_, err = s.client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId:           aws.String(s.SecretName(account)),
		ClientRequestToken: aws.String(versionID),
		SecretString:       aws.String(string(data)),
		VersionStages:      []string{StagePending},
	})
	var exists *types.ResourceExistsException
	switch {
	case err == nil:
		return nil
	case isNotFound(err):
		return fmt.Errorf("write pending %s for account %q: %w", versionID, account, codex.ErrAccountNotFound)
	case errors.As(err, &exists):
		// AWS answers a same-data repeat with success; an emulator may not.
		// Either way, equal stored data means the earlier write landed.
		out, gerr := s.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
			SecretId:  aws.String(s.SecretName(account)),
			VersionId: aws.String(versionID),
		})
		if gerr == nil && bytes.Equal(secretBytes(out), data) {
			return nil
		}
		return fmt.Errorf("write pending %s for account %q: version exists with different data: %w", versionID, account, err)
	default:
		return fmt.Errorf("write pending %s for account %q: %w", versionID, account, err)
	}
}

// Promote moves AWSCURRENT from version from to version to, only if from
// still holds it. When it does not, Promote returns nil if to already holds
// it (a retried promote) and an error wrapping codex.ErrStaleVersion
// otherwise; a missing to is codex.ErrVersionNotFound.
func (s *Store) Promote(ctx context.Context, account, from, to string) error {
	_, err := s.client.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
		SecretId:            aws.String(s.SecretName(account)),
		VersionStage:        aws.String(StageCurrent),
		MoveToVersionId:     aws.String(to),
		RemoveFromVersionId: aws.String(from),
	})
	if err == nil {
		return nil
	}
	// Find out why from the stages themselves, not from error text.
	desc, derr := s.client.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(s.SecretName(account))})
	if isNotFound(derr) {
		return fmt.Errorf("promote account %q to %s: %w", account, to, codex.ErrAccountNotFound)
	}
	if derr != nil {
		return fmt.Errorf("promote account %q from %s to %s: %w", account, from, to, err)
	}
	// Where AWSCURRENT is decides staleness. Whether to exists is asked of
	// the version itself: DescribeSecret leaves out versions without a
	// label, which GetSecretValue still reads.
	switch current := currentVersion(desc.VersionIdsToStages); {
	case current == to:
		return nil
	case current != from:
		return fmt.Errorf("promote account %q from %s to %s: current is %s: %w", account, from, to, current, codex.ErrStaleVersion)
	}
	if _, lerr := s.LoadVersion(ctx, account, to); errors.Is(lerr, codex.ErrVersionNotFound) {
		return fmt.Errorf("promote account %q to %s: %w", account, to, codex.ErrVersionNotFound)
	}
	return fmt.Errorf("promote account %q from %s to %s: %w", account, from, to, err)
}

// Create makes account's secret with a as its first, current version
// versionID; codex.ErrAccountExists when the secret exists already.
func (s *Store) Create(ctx context.Context, account, versionID string, a *codex.AuthFile) error {
	data, err := a.MarshalJSON()
	if err != nil {
		return fmt.Errorf("create account %q: %w", account, err)
	}
	if err := s.create(ctx, account, versionID, data); errors.Is(err, errCreatedConcurrently) {
		return fmt.Errorf("create account %q: %w", account, codex.ErrAccountExists)
	} else if err != nil {
		return err
	}
	return nil
}

// errCreatedConcurrently means another writer created the secret first.
var errCreatedConcurrently = errors.New("secret created concurrently")

// create makes account's secret with data as its first (current) version.
func (s *Store) create(ctx context.Context, account, id string, data []byte) error {
	_, err := s.client.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:               aws.String(s.SecretName(account)),
		ClientRequestToken: aws.String(id),
		SecretString:       aws.String(string(data)),
		Description:        aws.String("codexgate account " + account + ": Codex auth.json"),
	})
	var exists *types.ResourceExistsException
	switch {
	case errors.As(err, &exists):
		return errCreatedConcurrently
	case err != nil:
		return fmt.Errorf("create account %q: %w", account, err)
	}
	return nil
}

// Exists says whether account's secret exists and is not scheduled for
// deletion (DescribeSecret: the functions may call it, not ListSecrets).
func (s *Store) Exists(ctx context.Context, account string) (bool, error) {
	out, err := s.client.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(s.SecretName(account))})
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("describe account %q: %w", account, err)
	}
	return out.DeletedDate == nil, nil
}

// ScheduleDelete schedules account's secret for deletion after window
// days (7 to 30; 0: Secrets Manager's default, 30), during which
// `aws secretsmanager restore-secret` brings it back. It returns when the
// secret will be deleted; a missing secret is codex.ErrAccountNotFound.
func (s *Store) ScheduleDelete(ctx context.Context, account string, window int) (time.Time, error) {
	in := &secretsmanager.DeleteSecretInput{SecretId: aws.String(s.SecretName(account))}
	if window > 0 {
		in.RecoveryWindowInDays = aws.Int64(int64(window))
	}
	out, err := s.client.DeleteSecret(ctx, in)
	if isNotFound(err) {
		return time.Time{}, fmt.Errorf("delete account %q: %w", account, codex.ErrAccountNotFound)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("delete account %q: %w", account, err)
	}
	return aws.ToTime(out.DeletionDate), nil
}

// List returns the accounts under the prefix, sorted. Secrets scheduled for
// deletion are left out.
func (s *Store) List(ctx context.Context) ([]string, error) {
	in := &secretsmanager.ListSecretsInput{}
	if s.prefix != "" {
		// The name filter matches prefixes of words too, case-insensitively:
		// exact prefix matches are kept below.
		in.Filters = []types.Filter{{Key: types.FilterNameStringTypeName, Values: []string{s.prefix}}}
	}
	var accounts []string
	pages := secretsmanager.NewListSecretsPaginator(s.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list accounts under %q: %w", s.prefix, err)
		}
		for _, sec := range page.SecretList {
			name := aws.ToString(sec.Name)
			if account, ok := strings.CutPrefix(name, s.prefix); ok && account != "" && sec.DeletedDate == nil {
				accounts = append(accounts, account)
			}
		}
	}
	slices.Sort(accounts)
	return slices.Compact(accounts), nil
}

func decode(account string, out *secretsmanager.GetSecretValueOutput) (codex.Version, error) {
	a, err := codex.ParseAuthFile(account, secretBytes(out))
	if err != nil {
		// The id still tells which version is unreadable: Replace writes
		// over it.
		return codex.Version{ID: aws.ToString(out.VersionId)}, err
	}
	return codex.Version{ID: aws.ToString(out.VersionId), Auth: a}, nil
}

func secretBytes(out *secretsmanager.GetSecretValueOutput) []byte {
	if out.SecretString != nil {
		return []byte(*out.SecretString)
	}
	return out.SecretBinary
}

// currentVersion returns the version holding AWSCURRENT.
func currentVersion(stages map[string][]string) string {
	for id, labels := range stages {
		if slices.Contains(labels, StageCurrent) {
			return id
		}
	}
	return ""
}

func isNotFound(err error) bool {
	var nf *types.ResourceNotFoundException
	return errors.As(err, &nf)
}
