package awsfault

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// ExitBefore returns a copy of cfg whose clients make the process exit with
// code just before sending the n-th call of an operation, like a Lambda
// container killed between two steps. at is "Operation#n", e.g.
// "UpdateItem#3" (the third UpdateItem).
func ExitBefore(cfg aws.Config, at string, code int) (aws.Config, error) {
	op, nth, ok := strings.Cut(at, "#")
	n, err := strconv.Atoi(nth)
	if !ok || err != nil || n < 1 || op == "" {
		return cfg, fmt.Errorf("awsfault: kill point %q: want Operation#n with n >= 1", at)
	}
	t := New(nil)
	if n > 1 {
		t.Inject(op, Fault{Action: Pass, Times: n - 1})
	}
	t.Inject(op, Fault{Times: 1, Hook: func(string) { os.Exit(code) }})
	return t.Wrap(cfg), nil
}
