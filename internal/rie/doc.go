// Package rie runs a Lambda bootstrap under the Runtime Interface Emulator
// (aws-lambda-rie, docs/DESIGN.md §10.4), as one Lambda container: one emulator, one
// bootstrap, one invocation at a time (the emulator crashes on concurrent
// ones), so K containers are K emulators.
//
// Find locates the emulator, Start runs it with a bootstrap on free loopback
// ports, and Container.Invoke sends one event. A function behind API Gateway
// REST with response streaming answers with a JSON prelude, eight NUL bytes
// and the body: SplitStreamed takes that apart and APIGatewayEvent builds
// the request event. The emulator sends a streamed answer to its client only
// once it is whole; StartTapped puts a Tap on the runtime API to see when
// the answer's first and last bytes left the bootstrap, as Lambda would.
// The Lambda end-to-end tests (internal/lambdae2e) and
// the benchmarks (internal/bench) share this package.
package rie
