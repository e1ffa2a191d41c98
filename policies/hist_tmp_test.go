package policies

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"testing"
	"time"
)

func TestHistTmp(t *testing.T) {
	e := engine(t)
	ctx := context.Background()
	reqs := benchRequests()
	for round := 0; round < 2; round++ {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		gc0 := ms.NumGC
		lat := make([]time.Duration, 0, 20000)
		for i := 0; i < 12000; i++ {
			t0 := time.Now()
			if _, err := e.Decide(ctx, reqs[i%len(reqs)]); err != nil {
				t.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		runtime.ReadMemStats(&ms)
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		n := len(lat)
		fmt.Printf("gcs=%d p50=%v p90=%v p95=%v p98=%v p99=%v p99.5=%v max=%v\n", ms.NumGC-gc0, lat[n/2], lat[n*90/100], lat[n*95/100], lat[n*98/100], lat[n*99/100], lat[n*995/1000], lat[n-1])
	}
}
