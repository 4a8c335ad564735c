// Package awsfault injects faults into, and counts, the HTTP calls an
// aws-sdk-go-v2 client makes, so tests can prove what the lease and token
// store do when AWS fails at the worst moment.
//
// A Transport wraps an http.RoundTripper. It names each call by the
// operation in its X-Amz-Target header ("DynamoDB_20120810.UpdateItem" →
// "UpdateItem", "secretsmanager.PutSecretValue" → "PutSecretValue"), counts
// it, and applies the first fault injected for that operation:
//
//	ft := awsfault.New(nil)
//	cfg := awsfault.NoRetries(ft.Wrap(testsupport.AWSConfig(t)))
//	ddb := dynamodb.NewFromConfig(cfg)
//	ft.Inject("UpdateItem", awsfault.Fault{Action: awsfault.Drop, Times: 1})
//	// the next UpdateItem reaches the server, its answer is lost:
//	// the write happened, the caller sees a transport error.
//
// Actions: Refuse (fail before sending, like a refused connection), Drop
// (send, then lose the response: outcome unknown), Respond (answer with a
// given status and body without sending), and Pass (send normally; useful
// with Delay or Hook alone). Delay and Hook run before the action; a Hook may
// block (to pause a holder past its lease) or call os.Exit (a kill test).
//
// Mind the SDK's retries: it retries transport errors and 5xx answers, so a
// fault with Times: 1 is usually hidden by a successful retry. That is right
// for "a blip the SDK absorbs"; for "the caller sees exactly this failure"
// use NoRetries (aws.Config.RetryMaxAttempts = 1) or Times: 0 (until Clear).
package awsfault
