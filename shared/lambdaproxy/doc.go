// Package lambdaproxy serves an http.Handler behind an API Gateway REST API
// whose Lambda proxy integration streams responses (ResponseTransferMode
// RESPONSE_STREAM): an events.APIGatewayProxyRequest becomes an
// *http.Request, and what the handler writes becomes an
// *events.APIGatewayProxyStreamingResponse whose body streams while the
// handler still runs.
//
// It mirrors aws-lambda-go's lambdaurl (which does the same for Function
// URLs) and leaves the wire format to the library: the response's prelude
// (status and headers as JSON, eight NUL bytes, then the body) is produced by
// events.APIGatewayProxyStreamingResponse itself, and lambda.Start streams
// any response that is an io.Reader.
package lambdaproxy
