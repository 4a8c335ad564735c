// Command paced is a Lambda bootstrap for the tap test: it streams three
// events 300 ms apart through the project's API Gateway streaming adapter.
package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/codexgate/codexgate/shared/lambdaproxy"
)

func main() {
	lambda.Start(lambdaproxy.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			if i > 0 {
				time.Sleep(300 * time.Millisecond)
			}
			fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
		}
	})))
}
