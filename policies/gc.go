package policies

// ServingGCPercent is the garbage collector's target (GOGC) the broker's
// long-running commands, serve and demo, set unless the operator gives GOGC.
//
// A decision allocates about 40 KB of short-lived evaluator state, and the
// broker keeps its data in DuckDB, outside the Go heap, so the Go heap stays
// small (3 MB live in the decision benchmark). With Go's default of 100 the
// collector then runs every few dozen decisions, and the decisions that
// overlap a collection make the tail: p99 about 0.9–1.0 ms against a median
// of 0.22 ms. At 400 it runs a quarter as often and p99 falls to about
// 0.5 ms; the price is a heap up to five times the live data instead of
// twice, tens of megabytes on a 24 GiB machine. BenchmarkDecide measures
// both.
const ServingGCPercent = 400
