package testsupport

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/codexgate/codexgate/shared/sdkhttp"
)

// DefaultRegion is the region used when AWS_REGION is unset.
const DefaultRegion = "us-east-1"

// Environ is this process's environment without its CODEXGATE_ settings
// (CODEXGATE_MOTO_URL, the stack's, kept): the base environment of a
// codexgate process a test starts, which sees only the settings the test
// gives it.
func Environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CODEXGATE_") || strings.HasPrefix(kv, "CODEXGATE_MOTO_URL=") {
			env = append(env, kv)
		}
	}
	return env
}

// RequireStack skips t when no emulator is configured (AWS_ENDPOINT_URL
// unset), and fails it when CI=true: in CI a missing emulator is a broken
// pipeline, not a reason to skip. It returns the endpoint URL.
func RequireStack(t testing.TB) string {
	t.Helper()
	endpoint := os.Getenv("AWS_ENDPOINT_URL")
	if endpoint != "" {
		return endpoint
	}
	const msg = "AWS_ENDPOINT_URL is unset: no local AWS stack. " +
		"Run `make test`, or `scripts/with-stack.sh go test ./...`"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: a missing emulator is a failure)")
	}
	t.Skip(msg)
	return ""
}

// AWSConfig returns an SDK config for the local stack. The SDK reads
// AWS_ENDPOINT_URL itself; AWSConfig adds the defaults an emulator needs
// (region, dummy credentials when none are configured) and a retryer that
// retries a few times quickly without a client-side retry quota, which
// would otherwise throttle heavily concurrent tests. Its HTTP client is
// wrapped by sdkhttp, as in every binary.
func AWSConfig(t testing.TB) aws.Config {
	t.Helper()
	RequireStack(t)

	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 5
				o.MaxBackoff = 500 * time.Millisecond
				o.RateLimiter = ratelimit.None
			})
		}),
	}
	if os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
		opts = append(opts, config.WithRegion(DefaultRegion))
	}
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" && os.Getenv("AWS_PROFILE") == "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider("test", "test", "")))
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), opts...)
	if err != nil {
		t.Fatalf("load AWS config: %v", err)
	}
	cfg.HTTPClient = sdkhttp.Wrap(cfg.HTTPClient)
	return cfg
}

// DynamoDB returns a DynamoDB client for the local stack.
func DynamoDB(t testing.TB) *dynamodb.Client {
	t.Helper()
	return dynamodb.NewFromConfig(AWSConfig(t))
}

// SecretsManager returns a Secrets Manager client for the local stack.
func SecretsManager(t testing.TB) *secretsmanager.Client {
	t.Helper()
	return secretsmanager.NewFromConfig(AWSConfig(t))
}
