package sdkhttp

import (
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// Wrap returns c, or the SDK's default client when c is nil, sending request
// bodies that net/http reads only through Read. Wrapping twice is a no-op.
// Set it as aws.Config.HTTPClient before building service clients. Service
// clients then leave the client as it is: the timeouts of a non-legacy
// AWS_DEFAULTS_MODE, which they add only to the SDK's own client type, do
// not apply (codexgate runs in the legacy mode, which has none).
func Wrap(c aws.HTTPClient) aws.HTTPClient {
	switch c := c.(type) {
	case client:
		return c
	case nil:
		return client{next: awshttp.NewBuildableClient()}
	default:
		return client{next: c}
	}
}

type client struct{ next aws.HTTPClient }

// Do sends a shallow copy of req whose body has no WriteTo. Closing either
// body closes the SDK's; smithy-go makes that idempotent.
func (c client) Do(req *http.Request) (*http.Response, error) {
	if _, ok := req.Body.(io.WriterTo); ok {
		r := req.WithContext(req.Context())
		r.Body = readCloser{req.Body}
		req = r
	}
	return c.next.Do(req)
}

// readCloser exposes only Read and Close of the body it wraps.
type readCloser struct{ io.ReadCloser }
