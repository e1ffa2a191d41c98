package extract

import (
	"fmt"
	"os"
	"time"
)

// PauseEnv names a stage at which a pull stops and waits forever, after
// saying so on standard error: the kill -9 tests start a pull as a
// process, wait for the stage and kill it there. Stages: "raw <dataset>"
// (a part staged), "merged" (the rows written, not committed), "commit"
// (everything recorded, just before the commit) and, for FHIR, "download
// <Type>" (one resource type downloaded to the spool).
const PauseEnv = "FOLKEKOMMUNE_TEST_PAUSE_AT"

var pauseAt = os.Getenv(PauseEnv)

func testHook(stage string) {
	if pauseAt == "" || pauseAt != stage {
		return
	}
	fmt.Fprintf(os.Stderr, "pull paused at %s\n", stage)
	for {
		time.Sleep(time.Hour)
	}
}
