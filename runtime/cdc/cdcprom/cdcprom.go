// Package cdcprom exports what a cdc.Consumer did as Prometheus metrics. It
// lives in a package of its own so that neither runtime/cdc nor
// runtime/metrics/prom imports the other:
//
//	prometheus.MustRegister(cdcprom.New("blog", consumer.Stats))
//
// The series are read from Stats at scrape time; the consumer label is the
// name given to New (one per database). The position is not a label (it
// changes with every transaction): Stats has it.
package cdcprom

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cachegen/cachegen/runtime/cdc"
)

// Collector is a prometheus.Collector over one consumer's Stats.
type Collector struct {
	name  string
	stats func() cdc.ConsumerStats
}

type metric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(s *cdc.ConsumerStats) float64
}

func desc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc("cachegen_cdc_"+name, help, []string{"consumer"}, nil)
}

var metrics = []metric{
	{desc("leader", "1 while this consumer holds the database's lease and reads its change stream."), prometheus.GaugeValue,
		func(s *cdc.ConsumerStats) float64 { return b2f(s.Leader) }},
	{desc("transactions_total", "Transactions applied and acknowledged."), prometheus.CounterValue,
		func(s *cdc.ConsumerStats) float64 { return float64(s.Transactions) }},
	{desc("events_total", "Row changes applied."), prometheus.CounterValue,
		func(s *cdc.ConsumerStats) float64 { return float64(s.Events) }},
	{desc("keys_invalidated_total", "Keys invalidated, All keys included."), prometheus.CounterValue,
		func(s *cdc.ConsumerStats) float64 { return float64(s.Keys) }},
	{desc("whole_tables_total", "Tables invalidated as a whole (collapsed transactions, truncates, rows without their key columns, lost positions)."), prometheus.CounterValue,
		func(s *cdc.ConsumerStats) float64 { return float64(s.WholeTables) }},
	{desc("lag_seconds", "Of the last transaction applied: from its commit to its keys invalidated."), prometheus.GaugeValue,
		func(s *cdc.ConsumerStats) float64 { return s.Lag.Seconds() }},
	{desc("max_lag_seconds", "The largest lag seen."), prometheus.GaugeValue,
		func(s *cdc.ConsumerStats) float64 { return s.MaxLag.Seconds() }},
	{desc("groups_total", "Groups of transactions applied together: one drop per table and one acknowledgement each."), prometheus.CounterValue,
		func(s *cdc.ConsumerStats) float64 { return float64(s.Groups) }},
	{desc("retries_total", "Groups of transactions applied again after a store error."), prometheus.CounterValue,
		func(s *cdc.ConsumerStats) float64 { return float64(s.Retries) }},
	{desc("reopens_total", "Change streams opened again after an error."), prometheus.CounterValue,
		func(s *cdc.ConsumerStats) float64 { return float64(s.Reopens) }},
	{desc("position_lost_total", "Times the position was lost or missing and every table was invalidated."), prometheus.CounterValue,
		func(s *cdc.ConsumerStats) float64 { return float64(s.PositionLost) }},
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// New returns a collector of stats (a Consumer's Stats method) under the
// consumer label name.
func New(name string, stats func() cdc.ConsumerStats) *Collector {
	return &Collector{name: name, stats: stats}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range metrics {
		ch <- m.desc
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	for _, m := range metrics {
		ch <- prometheus.MustNewConstMetric(m.desc, m.kind, m.value(&s), c.name)
	}
}

var _ prometheus.Collector = (*Collector)(nil)
