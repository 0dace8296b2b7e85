package processortest

import (
	"testing"

	"github.com/redis/go-redis/v9"
)

// StoredValues is a Kit.Stored for a processor or bank that keeps its
// records in Redis under prefix: every string, list item and hash field and
// value, so a card number kept in any of them is seen.
func StoredValues(rdb redis.Cmdable, prefix string) func(t *testing.T) []string {
	return func(t *testing.T) []string {
		t.Helper()
		ctx := t.Context()
		keys, err := rdb.Keys(ctx, prefix+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		var all []string
		for _, k := range keys {
			switch rdb.Type(ctx, k).Val() {
			case "list":
				all = append(all, rdb.LRange(ctx, k, 0, -1).Val()...)
			case "hash":
				for f, v := range rdb.HGetAll(ctx, k).Val() {
					all = append(all, f, v)
				}
			default:
				all = append(all, rdb.Get(ctx, k).Val())
			}
		}
		return all
	}
}
