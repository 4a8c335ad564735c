package lambdaproxy

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"

	"github.com/aws/aws-lambda-go/events"
)

type requestContextKey struct{}

// RequestFromContext returns the API Gateway event a request was made from.
func RequestFromContext(ctx context.Context) (*events.APIGatewayProxyRequest, bool) {
	ev, ok := ctx.Value(requestContextKey{}).(*events.APIGatewayProxyRequest)
	return ev, ok
}

// NewRequest converts an API Gateway REST proxy event to an *http.Request
// carrying ctx (and the event, see RequestFromContext). The path is the
// event's Path (the resource path, without the stage); multi-value headers
// and query parameters win over the single-value maps; a base64 body is
// decoded; RemoteAddr is the caller's source IP.
func NewRequest(ctx context.Context, ev *events.APIGatewayProxyRequest) (*http.Request, error) {
	if ev.HTTPMethod == "" {
		return nil, fmt.Errorf("api gateway event: no httpMethod")
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("api gateway event: decode base64 body: %w", err)
		}
	}
	header := make(http.Header, max(len(ev.MultiValueHeaders), len(ev.Headers)))
	if len(ev.MultiValueHeaders) > 0 {
		for k, vv := range ev.MultiValueHeaders {
			for _, v := range vv {
				header.Add(k, v)
			}
		}
	} else {
		for k, v := range ev.Headers {
			header.Add(k, v)
		}
	}
	host := header.Get("Host")
	if host == "" {
		host = ev.RequestContext.DomainName
	}
	u := &url.URL{Scheme: "https", Host: host, Path: ev.Path, RawQuery: query(ev)}
	if u.Path == "" {
		u.Path = "/"
	}
	ctx = context.WithValue(ctx, requestContextKey{}, ev)
	req, err := http.NewRequestWithContext(ctx, ev.HTTPMethod, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("api gateway event: %w", err)
	}
	if len(body) == 0 {
		req.Body = http.NoBody
	}
	req.Header = header
	req.Host = host
	req.RequestURI = u.RequestURI()
	req.RemoteAddr = ev.RequestContext.Identity.SourceIP
	header.Del("Host") // net/http servers keep it in req.Host only
	return req, nil
}

// query rebuilds the query string; API Gateway hands over decoded values.
func query(ev *events.APIGatewayProxyRequest) string {
	q := url.Values{}
	if len(ev.MultiValueQueryStringParameters) > 0 {
		for k, vv := range ev.MultiValueQueryStringParameters {
			q[k] = append(q[k], vv...)
		}
	} else {
		for k, v := range ev.QueryStringParameters {
			q.Set(k, v)
		}
	}
	return q.Encode()
}
