package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kunnskapskommunen/folkekommune/broker/cube"
	"github.com/kunnskapskommunen/folkekommune/indicators"
)

// loadDefinitions loads the built-in definitions, or those of dir. Refused
// files are reported on stderr; the valid ones are returned with the load
// error so that the caller can compute them and still fail at the end.
func loadDefinitions(cmd *cobra.Command, dir string) ([]*indicators.Definition, error) {
	var defs []*indicators.Definition
	var err error
	if dir == "" {
		defs, err = indicators.Builtin()
	} else {
		defs, err = indicators.Load(os.DirFS(dir))
	}
	var le *indicators.LoadError
	if errors.As(err, &le) {
		for _, p := range le.Problems {
			fmt.Fprintf(cmd.ErrOrStderr(), "refused: %s\n", p)
		}
		return defs, fmt.Errorf("%d indicator definition(s) refused", len(le.Problems))
	}
	return defs, err
}

func findDefinition(defs []*indicators.Definition, id string) (*indicators.Definition, error) {
	for _, d := range defs {
		if d.ID == id {
			return d, nil
		}
	}
	return nil, fmt.Errorf("no indicator %q (see `folkekommune indicators list`)", id)
}

func init() {
	var dataDir, defsDir string
	root := &cobra.Command{
		Use:   "indicators",
		Short: "Compute, list and export public-health indicators",
		Long: `indicators computes the public-health indicators defined in indicators/*.yaml
(built into the binary, or --definitions DIR) on the database's current extract,
lists them, and exports one indicator's protected table.`,
	}
	root.PersistentFlags().StringVar(&dataDir, "data", "", "data directory holding folkekommune.duckdb")
	root.PersistentFlags().StringVar(&defsDir, "definitions", "", "load definitions from this directory instead of the built-in ones")

	var opt indicators.Options
	compute := &cobra.Command{
		Use:   "compute --data DIR",
		Short: "Compute every indicator on the current extract and store the results",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			defs, loadErr := loadDefinitions(cmd, defsDir)
			if len(defs) == 0 {
				return loadErr
			}
			db, err := openData(cmd, dataDir)
			if err != nil {
				return err
			}
			defer db.Close()
			bar := newProgress(cmd.ErrOrStderr(), "indicators", len(defs))
			opt.Progress = func(done, _ int, _ string) { bar.Set(done) }
			results, err := indicators.Compute(cmd.Context(), db, defs, opt)
			bar.Finish()
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "indicator\textract\tperiods\tmissing\twithheld")
			for _, r := range results {
				withheld := 0
				for _, v := range r.Values {
					if v.Status == cube.Primary || v.Status == cube.Secondary {
						withheld++
					}
				}
				fmt.Fprintf(w, "%s\t%d\t%s–%s\t%d\t%d of %d\n", r.Definition.ID, r.ExtractID, r.Periods[0], r.Periods[len(r.Periods)-1], len(r.Missing), withheld, len(r.Values))
			}
			w.Flush()
			return errors.Join(err, loadErr)
		},
	}
	compute.Flags().Int64Var(&opt.ExtractID, "extract", 0, "extract version to file the results under (default: the latest loaded)")
	compute.Flags().IntVar(&opt.FromYear, "from", 0, "first year (default: nine years before --to)")
	compute.Flags().IntVar(&opt.ToYear, "to", 0, "last year (default: the latest year with events)")

	var lang string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the indicator definitions (and, with --data, their latest results)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			defs, loadErr := loadDefinitions(cmd, defsDir)
			if lang != "nb" && lang != "en" {
				return fmt.Errorf("--lang %q: want nb or en", lang)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "id\tage\tunit\tperiod\tstandardised\tsmoothing\tcomputed on extract\ttitle")
			var db interface{ Close() error }
			var latest func(string) string = func(string) string { return "" }
			if dataDir != "" {
				sdb, err := openData(cmd, dataDir)
				if err != nil {
					return err
				}
				db = sdb
				latest = func(id string) string {
					x, err := indicators.LatestExtract(cmd.Context(), sdb, id)
					if err != nil || x == 0 {
						return "-"
					}
					return fmt.Sprint(x)
				}
			}
			for _, d := range defs {
				title := d.Title.NB
				if lang == "en" {
					title = d.Title.EN
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Age, d.Unit, d.Period, d.Standardise, d.Smoothing, latest(d.ID), title)
			}
			w.Flush()
			if db != nil {
				db.Close()
			}
			return loadErr
		},
	}
	list.Flags().StringVar(&lang, "lang", "nb", "language of titles: nb or en")

	var id, format, out string
	var extractID int64
	export := &cobra.Command{
		Use:   "export --data DIR --id ID [--format csv|csv-excel|json|jsonstat|arrow|parquet]",
		Short: "Write one indicator's protected table",
		Long: `export writes the stored, disclosure-controlled results of one indicator: every
period, area and sex, the numerator as count, denominator, crude and standardised
rates, 95 % confidence limits and the comparison with the whole cluster. Withheld
values are empty (null) in every format. csv-excel is semicolon-separated with
decimal comma, for Norwegian Excel.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == "" {
				return fmt.Errorf("no indicator given (--id)")
			}
			defs, loadErr := loadDefinitions(cmd, defsDir)
			d, err := findDefinition(defs, id)
			if err != nil {
				return errors.Join(err, loadErr)
			}
			if lang != "nb" && lang != "en" {
				return fmt.Errorf("--lang %q: want nb or en", lang)
			}
			db, err := openData(cmd, dataDir)
			if err != nil {
				return err
			}
			defer db.Close()
			t, err := indicators.Table(cmd.Context(), db, d, extractID)
			if err != nil {
				return err
			}
			var w io.Writer = cmd.OutOrStdout()
			var f *os.File
			if out != "" && out != "-" {
				if f, err = os.Create(out); err != nil {
					return fmt.Errorf("create %s: %w", out, err)
				}
				defer f.Close()
				w = f
			}
			bw := bufio.NewWriter(w)
			title := cube.Label{NB: d.Title.NB, EN: d.Title.EN}
			switch format {
			case "csv":
				err = cube.WriteCSV(bw, t, cube.CSVOptions{Lang: lang, Labels: true})
			case "csv-excel":
				err = cube.WriteCSV(bw, t, cube.CSVOptions{Separator: ';', DecimalComma: true, Lang: lang, Labels: true})
			case "json":
				err = cube.WriteJSON(bw, t)
			case "jsonstat":
				err = cube.WriteJSONStat(bw, t, cube.JSONStatOptions{Label: title, Source: "FolkeKommune, Kunnskapskommunen Helse Omsorg Vest", Lang: lang})
			case "arrow":
				err = cube.WriteArrowIPC(bw, t)
			case "parquet":
				err = cube.WriteParquet(bw, t)
			default:
				return fmt.Errorf("--format %q: want csv, csv-excel, json, jsonstat, arrow or parquet", format)
			}
			if err != nil {
				return err
			}
			if err := bw.Flush(); err != nil {
				return fmt.Errorf("write %s: %w", out, err)
			}
			if f != nil {
				if err := f.Close(); err != nil {
					return fmt.Errorf("write %s: %w", out, err)
				}
			}
			return nil
		},
	}
	export.Flags().StringVar(&id, "id", "", "indicator id")
	export.Flags().StringVar(&format, "format", "csv", "csv, csv-excel, json, jsonstat, arrow or parquet")
	export.Flags().StringVar(&out, "out", "", "file to write (default: standard output)")
	export.Flags().StringVar(&lang, "lang", "nb", "language of labels: nb or en")
	export.Flags().Int64Var(&extractID, "extract", 0, "extract version (default: the latest computed)")

	root.AddCommand(compute, list, export)
	rootCmd.AddCommand(root)
}
