package rie

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestContainer_Invoke(t *testing.T) {
	for _, tc := range []struct {
		name, answer string
		status       int
		wantFnErr    bool
		wantErr      bool
	}{
		{"result", `{"ok":1}`, 200, false, false},
		{"streamed", `{"statusCode":200}` + string(make([]byte, 8)) + `{"errorMessage":"in the body"}`, 200, false, false},
		{"function error", `{"errorMessage":"boom","errorType":"Runtime.ExitError"}`, 200, true, true},
		{"emulator error", `busy`, 500, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.answer)) //nolint:errcheck // test server
			}))
			defer srv.Close()
			b, err := (&Container{url: srv.URL}).Invoke(context.Background(), []byte(`{}`))
			var fe *FunctionError
			if (err != nil) != tc.wantErr || errors.As(err, &fe) != tc.wantFnErr || string(b) != tc.answer {
				t.Fatalf("got %q, %v", b, err)
			}
			if tc.wantFnErr && (fe.Message != "boom" || fe.Type != "Runtime.ExitError") {
				t.Errorf("function error %+v", fe)
			}
		})
	}
}
