package main

import (
	"fmt"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/kunnskapskommunen/folkekommune/broker/synth"
)

func init() {
	var opt synth.Options
	var scale, format string
	cmd := &cobra.Command{
		Use:   "generate --out DIR [--seed N] [--scale small|cluster|national]",
		Short: "Write a deterministic synthetic extract of the municipalities' clinical systems",
		Long: `generate writes synthetic extracts as the clinical systems would hand them over:
one folder per source system (folkeregister, helsestasjon, kuhr, iplos), with
synthetic fødselsnummer (birth month + 80, valid check digits) and a share of
deliberately broken rows. The same seed and scale give identical files.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opt.Scale = synth.Scale(scale)
			opt.Format = synth.Format(format)
			bar := newProgress(cmd.ErrOrStderr(), "generating", 1000)
			opt.Progress = func(done float64) { bar.Set(int(done * 1000)) }
			started := time.Now()
			sum, err := synth.Generate(cmd.Context(), opt)
			bar.Finish()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "wrote %d persons to %s in %s\n", sum.Persons, opt.Out, time.Since(started).Round(time.Millisecond))
			for _, f := range synth.FileOrder {
				fmt.Fprintf(out, "  %-26s %10d rows\n", f+"."+string(opt.Format), sum.Files[f])
			}
			var broken []string
			for k := range sum.Broken {
				broken = append(broken, k)
			}
			sort.Strings(broken)
			total := int64(0)
			for _, k := range broken {
				total += sum.Broken[k]
			}
			fmt.Fprintf(out, "  %d rows broken on purpose\n", total)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opt.Out, "out", "", "folder to write the extract into (required)")
	f.Uint64Var(&opt.Seed, "seed", 1, "random seed; the same seed gives the same files")
	f.StringVar(&scale, "scale", "small", "population size: small (~4 000), cluster (~402 000) or national (~5.5 million)")
	f.StringVar(&format, "format", "csv", "file format: csv or parquet")
	f.IntVar(&opt.EndYear, "end-year", 2024, "last year with events")
	f.IntVar(&opt.Years, "years", 10, "number of years with events")
	f.Float64Var(&opt.BadShare, "bad-share", 0.002, "share of rows broken on purpose (negative for none)")
	cmd.MarkFlagRequired("out")
	rootCmd.AddCommand(cmd)
}
