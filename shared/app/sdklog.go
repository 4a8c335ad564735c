package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/smithy-go/logging"
)

// SDKLogger routes the AWS SDK's own log output (retries, connection reuse
// warnings) into log at debug level. The SDK's default logger writes raw
// "SDK … WARN" lines to stderr, which would land on a CLI user's terminal
// and break the Lambda functions' JSON-only logs; none of those lines is
// something an operator acts on.
func SDKLogger(log *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		if !log.Enabled(context.Background(), slog.LevelDebug) {
			return
		}
		log.Debug(fmt.Sprintf(format, v...), "source", "aws-sdk", "sdk_level", string(c))
	})
}
