package testsupport_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/codexgate/codexgate/internal/testsupport"
)

// ctxFor bounds one step against a hang, not its speed: each aws CLI call of
// the init script starts a Python interpreter, which takes many seconds on a
// loaded 2-core machine.
func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// The lease (docs/DESIGN.md §3.3 step 3, §7.2) rests on these: a conditional write succeeds once
// and then fails with ConditionalCheckFailedException, and the failure can
// carry the current item (ReturnValuesOnConditionCheckFailure=ALL_OLD).
func TestDynamoDB_ConditionalWrite(t *testing.T) {
	t.Parallel()
	cfg := testsupport.AWSConfig(t)
	table := testsupport.NewTable(t, cfg)
	db := dynamodb.NewFromConfig(cfg)
	ctx := ctxFor(t)
	key := map[string]dbtypes.AttributeValue{
		"pk": &dbtypes.AttributeValueMemberS{Value: "lease#acct"},
		"sk": &dbtypes.AttributeValueMemberS{Value: "lease"},
	}

	put := &dynamodb.PutItemInput{
		TableName:           aws.String(table),
		Item:                key,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}
	if _, err := db.PutItem(ctx, put); err != nil {
		t.Fatalf("first PutItem: %v", err)
	}
	_, err := db.PutItem(ctx, put)
	var ccf *dbtypes.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		t.Fatalf("second PutItem: got %v, want ConditionalCheckFailedException", err)
	}

	// Acquire-shaped UpdateItem: free or expired or mine, fence only grows.
	acquire := func(owner string, now int64) (*dynamodb.UpdateItemOutput, error) {
		return db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:           aws.String(table),
			Key:                 key,
			ConditionExpression: aws.String("attribute_not_exists(expires_at) OR expires_at < :now OR #owner = :me"),
			UpdateExpression:    aws.String("SET #owner = :me, expires_at = :exp ADD fence :one"),
			ExpressionAttributeNames: map[string]string{
				"#owner": "owner",
			},
			ExpressionAttributeValues: map[string]dbtypes.AttributeValue{
				":now": &dbtypes.AttributeValueMemberN{Value: strconv.FormatInt(now, 10)},
				":exp": &dbtypes.AttributeValueMemberN{Value: strconv.FormatInt(now+30_000, 10)},
				":me":  &dbtypes.AttributeValueMemberS{Value: owner},
				":one": &dbtypes.AttributeValueMemberN{Value: "1"},
			},
			ReturnValues:                        dbtypes.ReturnValueAllNew,
			ReturnValuesOnConditionCheckFailure: dbtypes.ReturnValuesOnConditionCheckFailureAllOld,
		})
	}
	now := time.Now().UnixMilli()
	out, err := acquire("a", now)
	if err != nil {
		t.Fatalf("acquire by a: %v", err)
	}
	if got := out.Attributes["fence"].(*dbtypes.AttributeValueMemberN).Value; got != "1" {
		t.Errorf("fence after first acquire = %s, want 1", got)
	}
	_, err = acquire("b", now+1)
	if !errors.As(err, &ccf) {
		t.Fatalf("acquire by b while a holds: got %v, want ConditionalCheckFailedException", err)
	}
	if owner, ok := ccf.Item["owner"].(*dbtypes.AttributeValueMemberS); !ok || owner.Value != "a" {
		t.Errorf("ALL_OLD item on failure = %v, want owner a", ccf.Item)
	}
	out, err = acquire("b", now+60_000) // a's lease expired
	if err != nil {
		t.Fatalf("acquire by b after expiry: %v", err)
	}
	if got := out.Attributes["fence"].(*dbtypes.AttributeValueMemberN).Value; got != "2" {
		t.Errorf("fence after takeover = %s, want 2", got)
	}
}

func newToken(t *testing.T) string {
	buf := make([]byte, 16)
	if _, err := rand.Read(buf); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(buf)
}

// The token store (docs/DESIGN.md §3.3 step 9, §7.1) rests on these: a version written with
// a custom stage leaves AWSCURRENT alone, is readable by that stage, and the
// promotion is a compare-and-swap on RemoveFromVersionId.
func TestSecretsManager_VersionStages(t *testing.T) {
	t.Parallel()
	sm := testsupport.SecretsManager(t)
	name := testsupport.SecretPrefix(t) + "acct"
	ctx := ctxFor(t)

	created, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String(name),
		SecretString: aws.String(`{"v":1}`),
	})
	if err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	v1 := aws.ToString(created.VersionId)
	v2 := newToken(t)
	put := &secretsmanager.PutSecretValueInput{
		SecretId:           aws.String(name),
		ClientRequestToken: aws.String(v2),
		SecretString:       aws.String(`{"v":2}`),
		VersionStages:      []string{"CODEXGATE_PENDING"},
	}
	if _, err := sm.PutSecretValue(ctx, put); err != nil {
		t.Fatalf("PutSecretValue: %v", err)
	}
	if _, err := sm.PutSecretValue(ctx, put); err != nil {
		t.Fatalf("PutSecretValue again, same token and data (must be a no-op): %v", err)
	}

	get := func(stage string) (version, value string) {
		t.Helper()
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
			SecretId:     aws.String(name),
			VersionStage: aws.String(stage),
		})
		if err != nil {
			t.Fatalf("GetSecretValue(%s): %v", stage, err)
		}
		return aws.ToString(out.VersionId), aws.ToString(out.SecretString)
	}
	if ver, val := get("CODEXGATE_PENDING"); ver != v2 || val != `{"v":2}` {
		t.Errorf("CODEXGATE_PENDING = %s %s, want %s {\"v\":2}", ver, val, v2)
	}
	if ver, val := get("AWSCURRENT"); ver != v1 || val != `{"v":1}` {
		t.Errorf("AWSCURRENT before promote = %s %s, want %s {\"v\":1}", ver, val, v1)
	}

	promote := func(from string) error {
		_, err := sm.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
			SecretId:            aws.String(name),
			VersionStage:        aws.String("AWSCURRENT"),
			MoveToVersionId:     aws.String(v2),
			RemoveFromVersionId: aws.String(from),
		})
		return err
	}
	if err := promote(v1); err != nil {
		t.Fatalf("promote %s -> %s: %v", v1, v2, err)
	}
	if ver, _ := get("AWSCURRENT"); ver != v2 {
		t.Errorf("AWSCURRENT after promote = %s, want %s", ver, v2)
	}
	if err := promote(v1); err == nil {
		t.Error("promote with a stale RemoveFromVersionId succeeded, want an error")
	}

	put.SecretString = aws.String(`{"v":3}`)
	_, err = sm.PutSecretValue(ctx, put)
	var exists *smtypes.ResourceExistsException
	if !errors.As(err, &exists) {
		t.Errorf("PutSecretValue, same token, other data: got %v, want ResourceExistsException", err)
	}
}

func runInitScript(t *testing.T, table string) string {
	t.Helper()
	script := filepath.Join(testsupport.RepoRoot(t), "localstack", "init", "ready.d", "01-table.sh")
	cmd := exec.CommandContext(ctxFor(t), "bash", script)
	cmd.Env = append(os.Environ(), "CODEXGATE_TABLE="+table)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s (CODEXGATE_TABLE=%s): %v\n%s", script, table, err, out)
	}
	return string(out)
}

func checkSchema(t *testing.T, db *dynamodb.Client, table string) {
	t.Helper()
	ctx := ctxFor(t)
	desc, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatalf("DescribeTable %s: %v", table, err)
	}
	keys := map[string]dbtypes.KeyType{}
	for _, k := range desc.Table.KeySchema {
		keys[aws.ToString(k.AttributeName)] = k.KeyType
	}
	if len(keys) != 2 || keys[testsupport.PartitionKey] != dbtypes.KeyTypeHash || keys[testsupport.SortKey] != dbtypes.KeyTypeRange {
		t.Errorf("%s key schema = %v, want pk HASH, sk RANGE", table, keys)
	}
	for _, a := range desc.Table.AttributeDefinitions {
		if a.AttributeType != dbtypes.ScalarAttributeTypeS {
			t.Errorf("%s attribute %s type = %s, want S", table, aws.ToString(a.AttributeName), a.AttributeType)
		}
	}
	if s := desc.Table.BillingModeSummary; s == nil || s.BillingMode != dbtypes.BillingModePayPerRequest {
		t.Errorf("%s billing mode = %+v, want PAY_PER_REQUEST", table, s)
	}
	ttl, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatalf("DescribeTimeToLive %s: %v", table, err)
	}
	if d := ttl.TimeToLiveDescription; d == nil || d.TimeToLiveStatus != dbtypes.TimeToLiveStatusEnabled ||
		aws.ToString(d.AttributeName) != testsupport.TTLAttribute {
		t.Errorf("%s TTL = %+v, want ENABLED on ttl", table, d)
	}
}

// The stack script ran the init script once; running it again must succeed
// and leave the table as it was.
func TestInitScript_StackTableIdempotent(t *testing.T) {
	t.Parallel()
	db := testsupport.DynamoDB(t)
	table := os.Getenv("CODEXGATE_TABLE")
	if table == "" {
		table = "codexgate"
	}
	checkSchema(t, db, table)
	if out := runInitScript(t, table); !strings.Contains(out, "exists") {
		t.Errorf("second run did not find the table:\n%s", out)
	}
	checkSchema(t, db, table)
}

// On a table that does not exist yet: create, then run again.
func TestInitScript_FreshTableTwice(t *testing.T) {
	t.Parallel()
	db := testsupport.DynamoDB(t)
	table := testsupport.UniqueName(t, "codexgate")
	t.Cleanup(func() {
		_, err := db.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
		if err != nil {
			t.Errorf("delete %s: %v", table, err)
		}
	})
	if out := runInitScript(t, table); !strings.Contains(out, "created") {
		t.Errorf("first run did not create the table:\n%s", out)
	}
	if out := runInitScript(t, table); !strings.Contains(out, "exists") || !strings.Contains(out, "already enabled") {
		t.Errorf("second run was not a no-op:\n%s", out)
	}
	checkSchema(t, db, table)
}

func TestNewTable_Schema(t *testing.T) {
	t.Parallel()
	cfg := testsupport.AWSConfig(t)
	checkSchema(t, dynamodb.NewFromConfig(cfg), testsupport.NewTable(t, cfg))
}
