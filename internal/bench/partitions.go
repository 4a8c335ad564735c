package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/codexgate/codexgate/internal/awsfault"
)

// partitionWrites counts DynamoDB writes by partition key (the table's
// "pk", see shared/statestore/doc.go), one per item a call writes; it reads
// the request body and sends an identical copy on.
type partitionWrites struct {
	base http.RoundTripper

	mu   sync.Mutex
	byPK map[string]int
}

// ddbKey is an item's or a key's partition key in DynamoDB's JSON.
type ddbKey struct {
	PK struct{ S string } `json:"pk"`
}

// ddbWrite is the part of a write request that names the items it writes.
type ddbWrite struct {
	Key, Item     *ddbKey
	TransactItems []map[string]struct{ Key, Item *ddbKey }
	RequestItems  map[string][]struct {
		PutRequest    *struct{ Item ddbKey }
		DeleteRequest *struct{ Key ddbKey }
	}
}

func (w ddbWrite) pks() []string {
	var out []string
	add := func(k *ddbKey) {
		if k != nil {
			out = append(out, k.PK.S)
		}
	}
	add(w.Key)
	add(w.Item)
	for _, ti := range w.TransactItems {
		for _, op := range ti {
			add(op.Key)
			add(op.Item)
		}
	}
	for _, reqs := range w.RequestItems {
		for _, r := range reqs {
			if r.PutRequest != nil {
				add(&r.PutRequest.Item)
			}
			if r.DeleteRequest != nil {
				add(&r.DeleteRequest.Key)
			}
		}
	}
	return out
}

var writeOps = map[string]bool{"PutItem": true, "UpdateItem": true, "DeleteItem": true, "TransactWriteItems": true, "BatchWriteItem": true}

func (p *partitionWrites) RoundTrip(req *http.Request) (*http.Response, error) {
	if !writeOps[awsfault.Operation(req)] || req.Body == nil {
		return p.base.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read %s body: %w", awsfault.Operation(req), err)
	}
	var w ddbWrite
	_ = json.Unmarshal(body, &w) // an unreadable body counts no partition; the server judges it
	p.mu.Lock()
	if p.byPK == nil {
		p.byPK = map[string]int{}
	}
	for _, pk := range w.pks() {
		p.byPK[pk]++
	}
	p.mu.Unlock()
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	return p.base.RoundTrip(out)
}

// hottest returns the partition key with the most writes since the last
// reset, and its count.
func (p *partitionWrites) hottest() (string, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	best, n := "", 0
	for pk, c := range p.byPK {
		if c > n || (c == n && pk < best) {
			best, n = pk, c
		}
	}
	return best, n
}

func (p *partitionWrites) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.byPK = nil
}
