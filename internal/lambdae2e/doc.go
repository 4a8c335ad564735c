// Package lambdae2e runs the real Lambda bootstraps (functions/proxy,
// functions/quota-cron, functions/refresh) under the AWS Lambda Runtime
// Interface Emulator (package rie), against the local AWS stack (moto) and
// the OpenAI simulator (package simworld), and checks their answers (the
// proxy's streamed prelude, NUL separator and SSE body; the scheduled
// functions' JSON results) and side effects.
//
// The tests build each bootstrap as `make build` does (linux, CGO_ENABLED=0,
// -tags lambda.norpc), for the host architecture so the emulator can exec
// it, and start one emulator per function on free loopback ports: one
// emulator is one Lambda container. They skip when aws-lambda-rie is neither
// on PATH nor in $(go env GOPATH)/bin (`make tools` installs it), and fail
// instead when CI=true.
package lambdae2e
