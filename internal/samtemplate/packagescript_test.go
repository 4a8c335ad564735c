package samtemplate

import (
	"strings"
	"testing"

	"github.com/codexgate/codexgate/shared/version"
)

// runPackage runs scripts/package.sh with the fake sam of deployscript_test
// and the environment env.
func runPackage(t *testing.T, env map[string]string) deployRun {
	t.Helper()
	return runScript(t, "package.sh", t.TempDir(), map[string]string{"sam": fakeSAM}, env, "AWS_REGION=eu-west-1", "BUCKET=")
}

// TestPackageScript_Refusals: without the SAM CLI, with one too old, or
// without a bucket, make package says what is missing and runs nothing.
func TestPackageScript_Refusals(t *testing.T) {
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"no SAM CLI": {map[string]string{"SAM": "/nonexistent/sam", "BUCKET": "b"}, "SAM CLI not found"},
		"old SAM":    {map[string]string{"FAKE_SAM_VERSION": "1.157.1", "BUCKET": "b"}, "SAM CLI 1.157.1 is too old"},
		"no bucket":  {nil, "set BUCKET to an S3 bucket in eu-west-1"},
	} {
		t.Run(name, func(t *testing.T) {
			r := runPackage(t, tc.env)
			if r.err == nil || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("package.sh: %v, stderr %q; want a failure saying %q", r.err, r.stderr, tc.want)
			}
			if r.calls != "" {
				t.Errorf("sam was run:\n%s", r.calls)
			}
		})
	}
}

// TestPackageScript_BuildsAndPackages: sam build with make build's flags and
// the release, then sam package to the bucket, writing build/packaged.yaml,
// and the sam publish command to run next.
func TestPackageScript_BuildsAndPackages(t *testing.T) {
	r := runPackage(t, map[string]string{"BUCKET": "my-sar-bucket"})
	if r.err != nil {
		t.Fatalf("package.sh: %v\nstderr:\n%s", r.err, r.stderr)
	}
	want := "== sam\nbuild\n--region\neu-west-1\nCGO_ENABLED=0\nGOFLAGS=" + samGOFLAGSFor(version.Release) + "\n" +
		"== sam\npackage\n--region\neu-west-1\n--s3-bucket\nmy-sar-bucket\n--output-template-file\nbuild/packaged.yaml\n"
	if !strings.HasPrefix(r.calls, want) {
		t.Errorf("sam calls:\n%s\nwant:\n%s", r.calls, want)
	}
	if !strings.Contains(r.stdout, "sam publish --region eu-west-1 --template build/packaged.yaml") ||
		!strings.Contains(r.stdout, "codexgate "+version.Release) {
		t.Errorf("stdout does not say what to run next:\n%s", r.stdout)
	}
}
