package bench

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestDDBWrite_PKs: every item a write request names counts once by its
// partition key, in UpdateItem, PutItem, TransactWriteItems and
// BatchWriteItem bodies alike.
func TestDDBWrite_PKs(t *testing.T) {
	for _, tc := range []struct {
		body string
		want []string
	}{
		{`{"TableName":"t","Key":{"pk":{"S":"usage#2026-12-07"},"sk":{"S":"k"}}}`, []string{"usage#2026-12-07"}},
		{`{"Item":{"pk":{"S":"accounts"},"sk":{"S":"registry#a"}}}`, []string{"accounts"}},
		{`{"TransactItems":[{"Update":{"Key":{"pk":{"S":"a"}}}},{"Put":{"Item":{"pk":{"S":"b"}}}}]}`, []string{"a", "b"}},
		{`{"RequestItems":{"t":[{"PutRequest":{"Item":{"pk":{"S":"c"}}}},{"DeleteRequest":{"Key":{"pk":{"S":"d"}}}}]}}`, []string{"c", "d"}},
	} {
		var w ddbWrite
		if err := json.Unmarshal([]byte(tc.body), &w); err != nil {
			t.Fatal(err)
		}
		got := w.pks()
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: pks %v, want %v", tc.body, got, tc.want)
		}
	}
}
