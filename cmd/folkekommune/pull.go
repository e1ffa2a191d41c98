package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/kunnskapskommunen/folkekommune/broker"
	"github.com/kunnskapskommunen/folkekommune/broker/audit"
	"github.com/kunnskapskommunen/folkekommune/broker/extract"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
)

// openData opens (creating) the data directory's database.
func openData(cmd *cobra.Command, dataDir string) (*store.DB, error) {
	if dataDir == "" {
		return nil, fmt.Errorf("no data directory given (--data)")
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", dataDir, err)
	}
	return store.Open(cmd.Context(), filepath.Join(dataDir, broker.DBFile))
}

func init() {
	var dataDir, from string
	cmd := &cobra.Command{
		Use:   "pull --data DIR --from DIR",
		Short: "Pull a file-drop extract into the broker's database",
		Long: `pull reads an extract dropped as files (folkeregister/, helsestasjon/, kuhr/,
iplos/; CSV or Parquet), validates every row, replaces identities by keyed HMAC
pseudonyms, and loads it in one transaction. Bad rows are quarantined with
their file, line and reason. Pulling the same files again does nothing.

The pseudonymisation key comes from $FOLKEKOMMUNE_PSEUDONYM_KEY (hex) or from
DIR/pseudonym.key, created with mode 0600 on first use.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := extract.LoadKey(dataDir)
			if err != nil {
				return err
			}
			db, err := openData(cmd, dataDir)
			if err != nil {
				return err
			}
			defer db.Close()
			bar := newProgress(cmd.ErrOrStderr(), "pulling", 1000)
			res, err := extract.Pull(cmd.Context(), db, extract.NewFileDrop(from), extract.Options{
				Key:   key,
				Audit: audit.New(db),
				Actor: "cli",
				Progress: func(done, total int64) {
					if total > 0 {
						bar.Set(int(done * 1000 / total))
					}
				},
			})
			bar.Finish()
			if err != nil {
				return fmt.Errorf("pull from %s failed, previous data kept: %w", from, err)
			}
			out := cmd.OutOrStdout()
			if res.Unchanged {
				fmt.Fprintf(out, "nothing to do: these files were already loaded as extract %d\n", res.ExtractID)
				return nil
			}
			fmt.Fprintf(out, "extract %d loaded in %s: %d rows read, %d loaded, %d quarantined\n",
				res.ExtractID, res.Duration.Round(1e6), res.RowsRead, res.Loaded, res.Quarantined)
			for _, f := range res.Files {
				fmt.Fprintf(out, "  %-30s %10d read %10d loaded %8d quarantined\n", f.Name, f.RowsRead, f.Loaded, f.Quarantined)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data", "", "the broker's data directory (required)")
	cmd.Flags().StringVar(&from, "from", "", "the folder the extract was dropped in (required)")
	cmd.MarkFlagRequired("data")
	cmd.MarkFlagRequired("from")
	rootCmd.AddCommand(cmd)
}
