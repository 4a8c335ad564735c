// Package sdkhttp wraps the HTTP client the AWS SDK sends through, so that a
// fast answer never makes net/http close the connection under the SDK.
//
// The SDK (smithy-go) closes a request's body as soon as the response
// headers arrive. net/http's writer may still be checking that body for
// bytes beyond its Content-Length; smithy-go's body then answers WriteTo
// with io.EOF, which io.Copy reports as an error, so net/http treats the
// request write as failed and closes the connection while the response body
// is still being read. The SDK then logs "failed to discard remaining HTTP
// response body ... use of closed network connection" and retries the call,
// which repeats a write that already took effect. A local emulator on
// loopback answers fast enough to hit this on a fraction of a percent of
// calls. Wrap hides WriteTo, so the check reads through Read, which
// reports a closed body as a plain end of input.
package sdkhttp
