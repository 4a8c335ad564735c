package secretstore_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/codexgate/codexgate/internal/conformance"
)

// The Secrets Manager store keeps the contract the in-memory fake is held to.
func TestStore_Conformance(t *testing.T) {
	conformance.TokenStore(t, func(t *testing.T) conformance.StoreEnv {
		e := setup(t)
		return conformance.StoreEnv{Store: e.store, PutRaw: func(t *testing.T, account string, doc []byte) string {
			out, err := e.sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{
				SecretId: aws.String(e.prefix + account), SecretString: aws.String(string(doc)),
			})
			if err != nil {
				t.Fatal(err)
			}
			return aws.ToString(out.VersionId)
		}}
	})
}
