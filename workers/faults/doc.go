// Package faults holds the storage fault tests of the worker's write path (issue
// 19): real PostgreSQL and MinIO servers on loopback (testdata/services) are stopped
// while a deterministic generator captures, then restarted, and what arrived is
// compared with what was produced. `make faults` runs them alone; `make test` runs
// them with everything else. Results: docs/reliability.md.
package faults
