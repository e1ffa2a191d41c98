package main

import (
	"io"
	"log/slog"
	"runtime/debug"
	"testing"

	"github.com/kunnskapskommunen/folkekommune/policies"
)

func TestServingGCSetsTheTargetUnlessTheOperatorChoseOne(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		name, gogc  string
		start, want int
	}{
		{"no GOGC: the serving target", "", 100, policies.ServingGCPercent},
		{"GOGC given: left as the runtime read it", "150", 150, 150},
		{"GOGC=off: left off", "off", -1, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The runtime reads GOGC once at start; the test stands in for it.
			defer debug.SetGCPercent(debug.SetGCPercent(tt.start))
			t.Setenv("GOGC", tt.gogc)
			if got := servingGC(log); got != tt.want {
				t.Fatalf("servingGC = %d, want %d", got, tt.want)
			}
			if got := debug.SetGCPercent(tt.start); got != tt.want {
				t.Fatalf("collector target in force = %d, want %d", got, tt.want)
			}
		})
	}
}
