package awsfault

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestExitBefore_BadSpec(t *testing.T) {
	for _, at := range []string{"", "UpdateItem", "UpdateItem#", "UpdateItem#0", "#2", "UpdateItem#x"} {
		if _, err := ExitBefore(aws.Config{}, at, 3); err == nil {
			t.Errorf("ExitBefore(%q): want an error", at)
		}
	}
	if _, err := ExitBefore(aws.Config{}, "PutSecretValue#2", 3); err != nil {
		t.Fatal(err)
	}
}
