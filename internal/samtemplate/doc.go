// Package samtemplate tests template.yaml, the SAM application codexgate is
// deployed with. It holds no product code.
//
// The tests transform the template with the installed aws-sam-translator
// (testdata/transform.py, the same transform CloudFormation runs) and assert
// on the resulting CloudFormation: the proxy's API method streams
// (responseTransferMode STREAM, the response-streaming-invocations URI), each
// function's IAM policy lists exactly the calls its code makes on exactly
// the intended resources, the schedules come from the template's
// parameters, the alarms watch the EMF metrics package metrics writes, and
// each function's CodeUri builds, the way `sam build` runs go build, into
// the same bootstrap `make build` produces.
//
// Without python3 or samtranslator the transform tests skip with a message;
// with CI=true they fail instead, so CI cannot pass by skipping.
package samtemplate
