package testsupport

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// SecretPrefix returns a secret-name prefix no other test uses, shaped like
// the product's default: "codexgate-test/<random>/accounts/". Use it as
// CODEXGATE_SECRET_PREFIX. When the test ends, every secret under the prefix
// is deleted without recovery.
func SecretPrefix(t testing.TB) string {
	t.Helper()
	cfg := AWSConfig(t)
	prefix := "codexgate-test/" + UniqueName(t, "") + "/accounts/"
	t.Cleanup(func() { deleteSecrets(t, secretsmanager.NewFromConfig(cfg), prefix) })
	return prefix
}

func deleteSecrets(t testing.TB, client *secretsmanager.Client, prefix string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pages := secretsmanager.NewListSecretsPaginator(client, &secretsmanager.ListSecretsInput{
		Filters: []types.Filter{{Key: types.FilterNameStringTypeName, Values: []string{prefix}}},
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Errorf("list secrets under %s: %v", prefix, err)
			return
		}
		for _, s := range page.SecretList {
			name := aws.ToString(s.Name)
			if !strings.HasPrefix(name, prefix) { // the name filter ignores case
				continue
			}
			_, err := client.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{
				SecretId:                   s.ARN,
				ForceDeleteWithoutRecovery: aws.Bool(true),
			})
			if err != nil {
				t.Errorf("delete secret %s: %v", name, err)
			}
		}
	}
}
