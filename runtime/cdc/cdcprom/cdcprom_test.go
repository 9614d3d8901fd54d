package cdcprom

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cachegen/cachegen/runtime/cdc"
)

// Each field of Stats is its own series, under the consumer's name.
func TestCollect(t *testing.T) {
	s := cdc.ConsumerStats{Leader: true, Position: "0/1", Transactions: 2, Events: 3, Keys: 4, WholeTables: 5,
		Lag: 1500 * time.Millisecond, MaxLag: 2 * time.Second, Retries: 6, Reopens: 7, PositionLost: 8, Groups: 9}
	c := New("blog", func() cdc.ConsumerStats { return s })
	want := `
# HELP cachegen_cdc_events_total Row changes applied.
# TYPE cachegen_cdc_events_total counter
cachegen_cdc_events_total{consumer="blog"} 3
# HELP cachegen_cdc_groups_total Groups of transactions applied together: one drop per table and one acknowledgement each.
# TYPE cachegen_cdc_groups_total counter
cachegen_cdc_groups_total{consumer="blog"} 9
# HELP cachegen_cdc_keys_invalidated_total Keys invalidated, All keys included.
# TYPE cachegen_cdc_keys_invalidated_total counter
cachegen_cdc_keys_invalidated_total{consumer="blog"} 4
# HELP cachegen_cdc_lag_seconds Of the last transaction applied: from its commit to its keys invalidated.
# TYPE cachegen_cdc_lag_seconds gauge
cachegen_cdc_lag_seconds{consumer="blog"} 1.5
# HELP cachegen_cdc_leader 1 while this consumer holds the database's lease and reads its change stream.
# TYPE cachegen_cdc_leader gauge
cachegen_cdc_leader{consumer="blog"} 1
# HELP cachegen_cdc_max_lag_seconds The largest lag seen.
# TYPE cachegen_cdc_max_lag_seconds gauge
cachegen_cdc_max_lag_seconds{consumer="blog"} 2
# HELP cachegen_cdc_position_lost_total Times the position was lost or missing and every table was invalidated.
# TYPE cachegen_cdc_position_lost_total counter
cachegen_cdc_position_lost_total{consumer="blog"} 8
# HELP cachegen_cdc_reopens_total Change streams opened again after an error.
# TYPE cachegen_cdc_reopens_total counter
cachegen_cdc_reopens_total{consumer="blog"} 7
# HELP cachegen_cdc_retries_total Groups of transactions applied again after a store error.
# TYPE cachegen_cdc_retries_total counter
cachegen_cdc_retries_total{consumer="blog"} 6
# HELP cachegen_cdc_transactions_total Transactions applied and acknowledged.
# TYPE cachegen_cdc_transactions_total counter
cachegen_cdc_transactions_total{consumer="blog"} 2
# HELP cachegen_cdc_whole_tables_total Tables invalidated as a whole (collapsed transactions, truncates, rows without their key columns, lost positions).
# TYPE cachegen_cdc_whole_tables_total counter
cachegen_cdc_whole_tables_total{consumer="blog"} 5
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}
