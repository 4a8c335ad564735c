package rie

import (
	"errors"
	"go/build"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrNotFound means aws-lambda-rie is neither on PATH nor in a GOPATH bin
// directory.
var ErrNotFound = errors.New("aws-lambda-rie not found on PATH or in $(go env GOPATH)/bin: run `make tools`")

// Find returns the emulator's path: from PATH, else from $(go env GOPATH)/bin,
// where `go install` (and `make tools`) puts it.
func Find() (string, error) {
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p, nil
	}
	for _, dir := range filepath.SplitList(gopath()) {
		p := filepath.Join(dir, "bin", "aws-lambda-rie")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", ErrNotFound
}

// gopath asks the go command, which also knows a GOPATH set by `go env -w`;
// without it, the environment's or the default one.
func gopath() string {
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		return strings.TrimSpace(string(out))
	}
	return build.Default.GOPATH
}
