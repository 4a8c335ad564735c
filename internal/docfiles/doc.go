// Package docfiles holds the test that keeps the repository's file
// references true: every Go file a package comment (doc.go) names exists
// in that package, and every Go file path README.md and docs/*.md spell
// out exists in the repository. It has no code of its own; `make test`
// runs the check with every other test.
package docfiles
