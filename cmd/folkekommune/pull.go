package main

import (
	"errors"
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

// pullSpool is the spool folder of a one-off FHIR pull: kept across runs
// so that a pull the broker was stopped in resumes its export. Configured
// sources spool under DIR/spool/<name>; a one-off pull's name is never a
// configured source's.
func pullSpool(dataDir, source string) string {
	if source == "" {
		source = ".pull"
	}
	return filepath.Join(dataDir, "spool", source)
}

func init() {
	var dataDir, from, source string
	var fhir extract.FHIROptions
	var keyFile string
	var full bool
	cmd := &cobra.Command{
		Use:   "pull --data DIR (--from DIR | --fhir URL --client-id ID --key FILE)",
		Short: "Pull an extract (a file drop or a FHIR Bulk Data export) into the broker's database",
		Long: `pull reads an extract dropped as files (folkeregister/, helsestasjon/, kuhr/,
iplos/; CSV or Parquet), or exports one from a FHIR server through Bulk Data
($export with SMART Backend Services: --fhir, --client-id, --key), validates
every row, replaces identities by keyed HMAC pseudonyms, and loads it in one
transaction. Bad rows are quarantined with their file, line and reason.
Pulling the same files again does nothing.

The rows are the source's (--source NAME, or the one-off pulls' when not
given): a pull replaces the source's rows and leaves other sources' alone.
A FHIR source's pulls after the first ask only for what changed since the
last loaded export (_since) and update the rows of the changed resources;
--full asks for everything. A FHIR pull that was stopped (even by kill -9)
resumes its export from DIR/spool on the next run.

The pseudonymisation key comes from $FOLKEKOMMUNE_PSEUDONYM_KEY (hex) or from
DIR/pseudonym.key, created with mode 0600 on first use.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case from == "" && fhir.BaseURL == "":
				return errors.New(`flag "from" not set: give --from DIR (a file drop) or --fhir URL (a FHIR server)`)
			case from != "" && fhir.BaseURL != "":
				return errors.New("give either --from DIR (a file drop) or --fhir URL (a FHIR server), not both")
			}
			key, err := extract.LoadKey(dataDir)
			if err != nil {
				return err
			}
			var src extract.Source
			what := from
			if fhir.BaseURL != "" {
				what = fhir.BaseURL
				if keyFile == "" || fhir.ClientID == "" {
					return errors.New("a FHIR pull needs --client-id and --key (the broker's private key, PEM)")
				}
				if fhir.Key, err = extract.LoadFHIRKey(keyFile); err != nil {
					return err
				}
				fhir.SpoolDir, fhir.Resume = pullSpool(dataDir, source), true
				if err := os.MkdirAll(fhir.SpoolDir, 0o700); err != nil {
					return fmt.Errorf("create spool folder: %w", err)
				}
				f, err := extract.NewFHIRSource(fhir)
				if err != nil {
					return err
				}
				defer f.Close()
				src = f
			} else {
				src = extract.NewFileDrop(from)
			}
			db, err := openData(cmd, dataDir)
			if err != nil {
				return err
			}
			defer db.Close()
			bar := newProgress(cmd.ErrOrStderr(), "pulling", 1000)
			res, err := extract.Pull(cmd.Context(), db, src, extract.Options{
				Key:        key,
				Audit:      audit.New(db),
				Actor:      "cli",
				SourceName: source,
				Full:       full,
				Progress: func(done, total int64) {
					if total > 0 {
						bar.Set(int(done * 1000 / total))
					}
				},
			})
			bar.Finish()
			if err != nil {
				return fmt.Errorf("pull from %s failed, previous data kept: %w", what, err)
			}
			out := cmd.OutOrStdout()
			if res.Unchanged {
				fmt.Fprintf(out, "nothing to do: this extract was already loaded as extract %d\n", res.ExtractID)
				return nil
			}
			kind := "loaded"
			if res.Incremental {
				kind = "loaded (the changes since the last pull)"
			}
			fmt.Fprintf(out, "extract %d %s in %s: %d rows read, %d loaded, %d quarantined\n",
				res.ExtractID, kind, res.Duration.Round(1e6), res.RowsRead, res.Loaded, res.Quarantined)
			for _, f := range res.Files {
				fmt.Fprintf(out, "  %-30s %10d read %10d loaded %8d quarantined\n", f.Name, f.RowsRead, f.Loaded, f.Quarantined)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data", "", "the broker's data directory (required)")
	cmd.Flags().StringVar(&from, "from", "", "the folder the extract was dropped in")
	cmd.Flags().StringVar(&source, "source", "", "the name of the source the rows belong to (default: the one-off pulls')")
	cmd.Flags().StringVar(&fhir.BaseURL, "fhir", "", "the FHIR server's base URL, to pull through Bulk Data $export")
	cmd.Flags().StringVar(&fhir.Group, "group", "", "export this Group's members instead of the whole system")
	cmd.Flags().StringVar(&fhir.ClientID, "client-id", "", "the broker's client id at the FHIR server")
	cmd.Flags().StringVar(&keyFile, "key", "", "the broker's private key for SMART Backend Services (PEM, EC P-384 or RSA)")
	cmd.Flags().StringVar(&fhir.KeyID, "key-id", "", "the key's id in the JWKS the FHIR server holds")
	cmd.Flags().StringVar(&fhir.TokenURL, "token-url", "", "the token endpoint (default: from the server's SMART configuration)")
	cmd.Flags().BoolVar(&full, "full", false, "ask a FHIR server for everything, not the changes since the last pull")
	cmd.MarkFlagRequired("data")
	rootCmd.AddCommand(cmd)
}
