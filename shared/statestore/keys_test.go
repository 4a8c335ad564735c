package statestore

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// noCalls is a DynamoDB client that fails the test on any call.
type noCalls struct {
	DynamoDBAPI
	t *testing.T
}

func (n noCalls) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	n.t.Error("GetItem called for a key CreateKey could never have issued")
	return &dynamodb.GetItemOutput{}, nil
}

func TestStore_LookupKey_MalformedNeedsNoRead(t *testing.T) {
	s := New(noCalls{t: t}, "table")
	for _, key := range []string{
		"", "sk-proj-whatever", "cgk_", "cgk_short",
		"cgk_" + strings.Repeat("A", 42), "cgk_" + strings.Repeat("A", 44),
		"cgk_" + strings.Repeat("A", 42) + "+", // not base64url
		"CGK_" + strings.Repeat("A", 43),
	} {
		if _, err := s.LookupKey(context.Background(), key); !errors.Is(err, ErrKeyNotFound) {
			t.Errorf("LookupKey(%q) = %v, want ErrKeyNotFound", key, err)
		}
	}
	if !wellFormed("cgk_" + strings.Repeat("A", 43)) {
		t.Error("a key of CreateKey's shape is not well formed")
	}
}
