package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/kunnskapskommunen/folkekommune/broker"
	"github.com/kunnskapskommunen/folkekommune/broker/audit"
	"github.com/kunnskapskommunen/folkekommune/broker/extract"
	"github.com/kunnskapskommunen/folkekommune/broker/sources"
)

// envSources names the sources file when --sources is not given.
const envSources = "FOLKEKOMMUNE_SOURCES"

func init() {
	var file, dataDir string
	root := &cobra.Command{
		Use:   "sources list|check|pull NAME",
		Short: "List, check and pull the configured clinical-system sources",
		Long: `sources works on the sources file: the YAML file naming each clinical system
the broker pulls from (a file drop, a FHIR Bulk Data server, an SQL replica),
where it is, where its credentials are, which datasets it provides and when it
is pulled. serve --sources FILE runs the schedule.

  list   each source with its kind, location, schedule, next run and last pull
  check  validate the file and reach every source without pulling; exit 1 if any fails
  pull   pull one source now, as the schedule would

The file comes from --sources or $` + envSources + `; the data directory from
--data or $` + broker.EnvData + `. pull needs the broker stopped (one process owns the
database); with the broker running, use POST /api/v1/sources/NAME/pull.`,
	}
	root.PersistentFlags().StringVar(&file, "sources", os.Getenv(envSources), "the sources file (env "+envSources+")")
	root.PersistentFlags().StringVar(&dataDir, "data", os.Getenv(broker.EnvData), "the broker's data directory (env "+broker.EnvData+")")

	load := func() (*sources.File, error) {
		if file == "" {
			return nil, fmt.Errorf("no sources file given (--sources or %s)", envSources)
		}
		return sources.Load(file)
	}

	root.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "Show each source: kind, location, schedule, next run, last pull",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := load()
			if err != nil {
				return err
			}
			states := map[string]extract.SourceState{}
			if _, err := os.Stat(filepath.Join(dataDir, broker.DBFile)); dataDir != "" && err == nil {
				db, err := openData(cmd, dataDir)
				if err != nil {
					return err
				}
				defer db.Close()
				for _, s := range f.Sources {
					if states[s.Name], err = extract.ReadSourceState(cmd.Context(), db, s.Name); err != nil {
						return err
					}
				}
			}
			return listSources(cmd.OutOrStdout(), f, states, dataDir != "", time.Now())
		},
	})

	root.AddCommand(&cobra.Command{
		Use:   "check",
		Short: "Validate the sources file and reach every source without pulling",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := load()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			failed := 0
			for _, s := range f.Sources {
				ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
				note, err := sources.Check(ctx, s, sources.BuildOptions{SpoolDir: spoolDir(dataDir)})
				cancel()
				if err != nil {
					failed++
					fmt.Fprintf(w, "FAIL\t%s\t%s\t%s\n", s.Name, s.Kind, firstLineOf(err.Error()))
					continue
				}
				fmt.Fprintf(w, "ok\t%s\t%s\t%s\n", s.Name, s.Kind, note)
			}
			w.Flush()
			if failed > 0 {
				return &exitError{1, fmt.Errorf("%d of %d sources failed the check", failed, len(f.Sources))}
			}
			fmt.Fprintf(out, "%d sources ok\n", len(f.Sources))
			return nil
		},
	})

	root.AddCommand(&cobra.Command{
		Use:   "pull NAME",
		Short: "Pull one source now",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := load()
			if err != nil {
				return err
			}
			s, ok := f.Lookup(args[0])
			if !ok {
				return fmt.Errorf("no source %q in %s", args[0], f.Path)
			}
			if dataDir == "" {
				return fmt.Errorf("no data directory given (--data or %s)", broker.EnvData)
			}
			key, err := extract.LoadKey(dataDir)
			if err != nil {
				return err
			}
			db, err := openData(cmd, dataDir)
			if err != nil {
				return err
			}
			defer db.Close()
			bar := newProgress(cmd.ErrOrStderr(), "pulling "+s.Name, 1000)
			ctx, cancel := context.WithTimeout(cmd.Context(), s.Timeout)
			defer cancel()
			res, err := sources.Pull(ctx, db, s, sources.PullOptions{
				Key: key, Audit: audit.New(db), Actor: "cli", SpoolDir: spoolDir(dataDir),
				Progress: func(done, total int64) {
					if total > 0 {
						bar.Set(int(done * 1000 / total))
					}
				},
				ExportProgress: func(p string) { slog.Info("export in progress", "source", s.Name, "progress", p) },
			})
			bar.Finish()
			if err != nil {
				return fmt.Errorf("pull failed, previous data kept: %w", err)
			}
			out := cmd.OutOrStdout()
			if res.Unchanged {
				fmt.Fprintf(out, "nothing to do: source %s has nothing new since extract %d\n", s.Name, res.ExtractID)
				return nil
			}
			mode := "full"
			if res.Incremental {
				mode = "incremental"
			}
			fmt.Fprintf(out, "extract %d (%s, %s) loaded in %s: %d rows read, %d loaded, %d quarantined\n",
				res.ExtractID, s.Name, mode, res.Duration.Round(time.Millisecond), res.RowsRead, res.Loaded, res.Quarantined)
			for _, fr := range res.Files {
				fmt.Fprintf(out, "  %-30s %10d read %10d loaded %8d quarantined\n", fr.Name, fr.RowsRead, fr.Loaded, fr.Quarantined)
			}
			return nil
		},
	})
	rootCmd.AddCommand(root)
}

func spoolDir(dataDir string) string {
	if dataDir == "" {
		return ""
	}
	return filepath.Join(dataDir, "spool")
}

func listSources(w io.Writer, f *sources.File, states map[string]extract.SourceState, withState bool, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tLOCATION\tDATASETS\tSCHEDULE\tNEXT RUN\tLAST PULL")
	for _, s := range f.Sources {
		next := "-"
		if t := s.Schedule.Next(now); !t.IsZero() {
			next = t.In(osloZone).Format("2006-01-02 15:04")
		}
		last := "-"
		if !withState {
			last = "(give --data)"
		} else if st := states[s.Name]; st.LastID != 0 {
			last = fmt.Sprintf("%s %s", st.LastStatus, st.LastStarted.In(osloZone).Format("2006-01-02 15:04"))
			if st.LoadedID != 0 {
				var rows int64
				for _, n := range st.Rows {
					rows += n
				}
				last += fmt.Sprintf(" (extract %d, %d rows)", st.LoadedID, rows)
			}
		}
		ds := ""
		for i, d := range s.Datasets {
			if i > 0 {
				ds += ","
			}
			ds += string(d)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.Kind, s.Location(), ds, s.Schedule, next, last)
	}
	return tw.Flush()
}

var osloZone = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Oslo")
	if err != nil {
		return time.UTC
	}
	return loc
}()

func firstLineOf(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}
