package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestCLI_ErrorIsOneLineWhenSDKWarns: a failing command prints exactly its
// one-line error even when the AWS SDK logs a warning on the way. The fake
// endpoint announces a longer body than it sends, so the SDK's drain of the
// response body fails and it warns ("failed to discard remaining HTTP
// response body"); its default logger would print that as a raw line on
// the user's terminal.
func TestCLI_ErrorIsOneLineWhenSDKWarns(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(shortBodyAWS))
	t.Cleanup(srv.Close)
	env := cliEnv(map[string]string{"CODEXGATE_SECRET_PREFIX": "test/"})
	env = append(env,
		"AWS_ENDPOINT_URL="+srv.URL,
		"AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_MAX_ATTEMPTS=1",
	)
	r := runCLI(t, env, "", "refresh", "--account", "broken")
	mustFail(t, r, 1, `account "broken": load account "broken"`)
}

// shortBodyAWS answers every call with a GetSecretValue result, declaring
// 64 bytes more than it sends, then closes the connection: the read fails
// (the command's error) and so does the SDK's drain (its warning).
func shortBodyAWS(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	body := `{"ARN":"arn:aws:secretsmanager:us-east-1:000000000000:secret:test/broken","Name":"test/broken",` +
		`"VersionId":"v1","SecretString":"not an auth.json","VersionStages":["AWSCURRENT"]}`
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: %d\r\n\r\n%s", len(body)+64, body)
	_ = buf.Flush()
}
