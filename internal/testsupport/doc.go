// Package testsupport connects integration tests to the local AWS stack.
//
// Tests run against the emulator that scripts/with-stack.sh starts (moto, or
// LocalStack for people with Docker): `make test` sets AWS_ENDPOINT_URL and
// CODEXGATE_TABLE for every package. Outside the stack the helpers skip the
// test with a message saying how to run it; with CI=true a missing emulator
// fails the test instead, so CI can never pass by skipping everything.
//
// Every test gets its own names (UniqueName, NewTable, SecretPrefix) and
// cleans up after itself, so packages may run in parallel against one stack.
//
// It also holds the few helpers several packages' tests share: RepoRoot,
// GoBuild, WriteRepoFile, Buffer, FreePort, Environ, Post with ResponsesTurn
// and WantTurn, and Str and Num (a raw DynamoDB item's attributes).
package testsupport
