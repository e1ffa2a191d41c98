package main

import (
	"io"
	"log/slog"
	"os"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
)

// progress is a bar on a terminal and plain log lines elsewhere.
type progress struct {
	bar   *progressbar.ProgressBar
	label string
	max   int
	step  int // last tenth logged
}

func newProgress(w io.Writer, label string, max int) *progress {
	p := &progress{label: label, max: max, step: -1}
	if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		p.bar = progressbar.NewOptions(max, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(label),
			progressbar.OptionShowCount(), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100e6))
	}
	return p
}

func (p *progress) Set(n int) {
	if p.bar != nil {
		p.bar.Set(n)
		return
	}
	if p.max > 0 {
		if tenth := n * 10 / p.max; tenth > p.step {
			p.step = tenth
			slog.Info(p.label, "done_percent", tenth*10)
		}
	}
}

func (p *progress) Finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}
