package testsupport_test

import (
	"context"
	"maps"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/codexgate/codexgate/internal/testsupport"
)

// Secrets Manager tests that hold the stack to AWS where moto is laxer (see
// scripts/moto-serial.py): deprecated versions are hidden from listings, and
// secrets named *stale-reads* serve AWSCURRENT reads that lag a label move.

const pendingStage = "CODEXGATE_PENDING"

type smSecret struct {
	t    *testing.T
	ctx  context.Context
	sm   *secretsmanager.Client
	name string
}

func newSecret(t *testing.T, name, value string) (*smSecret, string) {
	t.Helper()
	// Long enough for the stale-read window and a busy machine.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	s := &smSecret{t: t, ctx: ctx, sm: testsupport.SecretsManager(t), name: name}
	out, err := s.sm.CreateSecret(s.ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String(name),
		SecretString: aws.String(value),
	})
	if err != nil {
		t.Fatalf("CreateSecret %s: %v", name, err)
	}
	return s, aws.ToString(out.VersionId)
}

// put writes value as a new version with the given stages (none: AWS's
// default, AWSCURRENT) and returns its id.
func (s *smSecret) put(value string, stages ...string) string {
	s.t.Helper()
	id := newToken(s.t)
	_, err := s.sm.PutSecretValue(s.ctx, &secretsmanager.PutSecretValueInput{
		SecretId:           aws.String(s.name),
		ClientRequestToken: aws.String(id),
		SecretString:       aws.String(value),
		VersionStages:      stages,
	})
	if err != nil {
		s.t.Fatalf("PutSecretValue %s %v: %v", value, stages, err)
	}
	return id
}

func (s *smSecret) promote(from, to string) {
	s.t.Helper()
	_, err := s.sm.UpdateSecretVersionStage(s.ctx, &secretsmanager.UpdateSecretVersionStageInput{
		SecretId:            aws.String(s.name),
		VersionStage:        aws.String("AWSCURRENT"),
		MoveToVersionId:     aws.String(to),
		RemoveFromVersionId: aws.String(from),
	})
	if err != nil {
		s.t.Fatalf("promote %s -> %s: %v", from, to, err)
	}
}

// get reads the secret by version id or stage ("" for neither) and returns
// its id, value and stages.
func (s *smSecret) get(versionID, stage string) (id, value string, stages []string) {
	s.t.Helper()
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.name)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	if stage != "" {
		in.VersionStage = aws.String(stage)
	}
	out, err := s.sm.GetSecretValue(s.ctx, in)
	if err != nil {
		s.t.Fatalf("GetSecretValue(id %q, stage %q): %v", versionID, stage, err)
	}
	return aws.ToString(out.VersionId), aws.ToString(out.SecretString), out.VersionStages
}

func (s *smSecret) describe() map[string][]string {
	s.t.Helper()
	out, err := s.sm.DescribeSecret(s.ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(s.name)})
	if err != nil {
		s.t.Fatalf("DescribeSecret: %v", err)
	}
	return out.VersionIdsToStages
}

func (s *smSecret) listVersions(includeDeprecated bool) map[string][]string {
	s.t.Helper()
	in := &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String(s.name)}
	if includeDeprecated {
		in.IncludeDeprecated = aws.Bool(true)
	}
	got := map[string][]string{}
	pages := secretsmanager.NewListSecretVersionIdsPaginator(s.sm, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(s.ctx)
		if err != nil {
			s.t.Fatalf("ListSecretVersionIds(IncludeDeprecated=%v): %v", includeDeprecated, err)
		}
		for _, v := range page.Versions {
			got[aws.ToString(v.VersionId)] = v.VersionStages
		}
	}
	return got
}

// sameSet reports whether a and b hold the same labels in any order.
func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

func sameStages(a, b map[string][]string) bool {
	return maps.EqualFunc(a, b, sameSet)
}

// A version left without any staging label is deprecated: DescribeSecret
// and ListSecretVersionIds leave it out (the latter lists it with
// IncludeDeprecated), and it stays readable by VersionId.
func TestSecretsManager_DeprecatedVersions(t *testing.T) {
	t.Parallel()
	s, v1 := newSecret(t, testsupport.SecretPrefix(t)+"acct", `{"v":1}`)

	check := func(step string, labelled map[string][]string, deprecated map[string]string) {
		t.Helper()
		if got := s.describe(); !sameStages(got, labelled) {
			t.Errorf("%s: DescribeSecret VersionIdsToStages = %v, want %v", step, got, labelled)
		}
		if got := s.listVersions(false); !sameStages(got, labelled) {
			t.Errorf("%s: ListSecretVersionIds = %v, want %v", step, got, labelled)
		}
		all := maps.Clone(labelled)
		for id := range deprecated {
			all[id] = nil
		}
		if got := s.listVersions(true); !sameStages(got, all) {
			t.Errorf("%s: ListSecretVersionIds(IncludeDeprecated) = %v, want %v", step, got, all)
		}
		for id, value := range deprecated {
			gotID, gotValue, stages := s.get(id, "")
			if gotID != id || gotValue != value || len(stages) != 0 {
				t.Errorf("%s: GetSecretValue(VersionId %s) = %s %s %v, want %s %s, no stages",
					step, id, gotID, gotValue, stages, id, value)
			}
		}
	}

	// A pending version whose label moves on to a newer pending version.
	v2 := s.put(`{"v":2}`, pendingStage)
	v3 := s.put(`{"v":3}`, pendingStage)
	check("pending label moved from v2 to v3",
		map[string][]string{v1: {"AWSCURRENT"}, v3: {pendingStage}},
		map[string]string{v2: `{"v":2}`})

	// Two promotes: AWSPREVIOUS moves from v1 to v3, leaving v1 bare.
	s.promote(v1, v3)
	v4 := s.put(`{"v":4}`, pendingStage)
	s.promote(v3, v4)
	check("AWSPREVIOUS moved from v1 to v3",
		map[string][]string{v3: {"AWSPREVIOUS"}, v4: {pendingStage, "AWSCURRENT"}},
		map[string]string{v1: `{"v":1}`, v2: `{"v":2}`})
}

// staleSeconds is the stack's stale-read window (scripts/moto-serial.py).
func staleSeconds(t *testing.T) time.Duration {
	t.Helper()
	s := os.Getenv("CODEXGATE_MOTO_STALE_SECONDS")
	if s == "" {
		return 3 * time.Second
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("CODEXGATE_MOTO_STALE_SECONDS=%q: %v", s, err)
	}
	return time.Duration(f * float64(time.Second))
}

// version is one version of a secret as a read returns it.
type version struct {
	id, value string
	stages    []string
}

// watchCurrent checks the reads after AWSCURRENT moved from old to new by a
// call sent at start: exact reads show new at once; AWSCURRENT reads (by
// stage and without one) show old, stages as they were, while the window
// can still be open, and new once it has closed, never before it could have.
func watchCurrent(s *smSecret, start time.Time, window time.Duration, old, new version) {
	t := s.t
	t.Helper()
	if id, value, stages := s.get(new.id, ""); id != new.id || value != new.value || !slices.Contains(stages, "AWSCURRENT") {
		t.Errorf("GetSecretValue(VersionId new) = %s %s %v, want %s %s with AWSCURRENT", id, value, stages, new.id, new.value)
	}
	if got := s.describe(); !slices.Contains(got[new.id], "AWSCURRENT") || slices.Contains(got[old.id], "AWSCURRENT") {
		t.Errorf("DescribeSecret = %v, want AWSCURRENT on %s only", got, new.id)
	}
	sawOld := false
	deadline := time.Now().Add(window + time.Minute)
	for {
		fresh := 0
		for _, stage := range []string{"AWSCURRENT", ""} {
			id, value, stages := s.get("", stage)
			// A read answered less than window after the move was sent
			// was applied inside the window, which opened after start.
			inWindow := time.Since(start) < window
			switch {
			case id == new.id && value == new.value:
				if inWindow {
					t.Fatalf("GetSecretValue(stage %q) = new version %s %s %v after the move, want the old one for %v",
						stage, id, value, time.Since(start), window)
				}
				fresh++
			case id == old.id && value == old.value && sameSet(stages, old.stages):
				sawOld = true
			default:
				t.Fatalf("GetSecretValue(stage %q) = %s %s %v, want %s %s %v (stale) or %s %s",
					stage, id, value, stages, old.id, old.value, old.stages, new.id, new.value)
			}
		}
		if fresh == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("AWSCURRENT reads still return %s %v after the move, window %v", old.id, time.Since(start), window)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !sawOld {
		t.Logf("no read landed inside the %v window (busy machine): only the end of the lag was checked", window)
	}
}

// On a secret named *stale-reads*, AWSCURRENT reads lag a move of the label
// (by PutSecretValue or UpdateSecretVersionStage) for the stack's window;
// reads by VersionId and DescribeSecret do not.
func TestSecretsManager_StaleReads(t *testing.T) {
	t.Parallel()
	window := staleSeconds(t)
	s, v1 := newSecret(t, testsupport.SecretPrefix(t)+"stale-reads/acct", `{"v":1}`)

	start := time.Now()
	v2 := s.put(`{"v":2}`) // no stages: AWSCURRENT moves to v2
	watchCurrent(s, start, window,
		version{v1, `{"v":1}`, []string{"AWSCURRENT"}},
		version{v2, `{"v":2}`, []string{"AWSCURRENT"}})

	v3 := s.put(`{"v":3}`, pendingStage)
	start = time.Now()
	s.promote(v2, v3)
	watchCurrent(s, start, window,
		version{v2, `{"v":2}`, []string{"AWSCURRENT"}},
		version{v3, `{"v":3}`, []string{pendingStage, "AWSCURRENT"}})
}

// Without the marker a move of AWSCURRENT is visible to the very next
// AWSCURRENT read.
func TestSecretsManager_NoStaleReadsWithoutMarker(t *testing.T) {
	t.Parallel()
	s, _ := newSecret(t, testsupport.SecretPrefix(t)+"acct", `{"v":1}`)
	v2 := s.put(`{"v":2}`)
	if id, value, _ := s.get("", "AWSCURRENT"); id != v2 || value != `{"v":2}` {
		t.Errorf("GetSecretValue(AWSCURRENT) right after PutSecretValue = %s %s, want %s {\"v\":2}", id, value, v2)
	}
	v3 := s.put(`{"v":3}`, pendingStage)
	s.promote(v2, v3)
	if id, value, _ := s.get("", "AWSCURRENT"); id != v3 || value != `{"v":3}` {
		t.Errorf("GetSecretValue(AWSCURRENT) right after promote = %s %s, want %s {\"v\":3}", id, value, v3)
	}
}
