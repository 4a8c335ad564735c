package testsupport

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer that writer goroutines (a child process's
// output copier, a proxy's log writer) and the test reading it may use at
// once. The zero value is ready.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
