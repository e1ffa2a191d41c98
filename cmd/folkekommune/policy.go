package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/kunnskapskommunen/folkekommune/policies"
)

var policyCmd = &cobra.Command{
	Use:   "policy",
	Short: "Show, test and try out the privacy policy",
	Long: `The privacy policy is OPA/Rego in policies/, compiled into the broker. Every
subcommand uses the embedded policy, or the directory given with --dir; a
directory is compiled, checked (every rule documented) and tested before it
is used, and refused with OPA's message if any of that fails.`,
}

func init() {
	policyCmd.PersistentFlags().String("dir", "", "policy directory (default: the policy compiled into the broker)")

	show := &cobra.Command{
		Use:   "show [--dir DIR] [--lang nb|en] [--json]",
		Short: "Render every rule with its legal basis, owner, tests and coverage",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := loadPolicy(cmd.Context(), cmd)
			if err != nil {
				return err
			}
			if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"version": v.Hash, "source": v.Source, "rules": v.Rules, "tests": v.Tests})
			}
			lang, _ := cmd.Flags().GetString("lang")
			return v.WriteRules(cmd.OutOrStdout(), lang)
		},
	}
	show.Flags().String("lang", "nb", "language: nb (bokmål) or en")
	show.Flags().Bool("json", false, "print rules and test results as JSON")

	test := &cobra.Command{
		Use:   "test [--dir DIR]",
		Short: "Compile and test the policy, as `opa test --fail-on-empty`, with coverage per rule",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := loadPolicy(cmd.Context(), cmd)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if verbose, _ := cmd.Flags().GetBool("verbose"); verbose {
				for _, t := range v.Tests.Results {
					fmt.Fprintf(out, "PASS %s.%s (%s)\n", t.Package, t.Name, t.Duration)
				}
			}
			for _, r := range v.Rules {
				if r.Code != "" {
					fmt.Fprintf(out, "%-40s %-7s %3.0f%% coverage, %d tests\n", r.Code, r.Effect, r.Coverage, len(r.Tests))
				}
			}
			fmt.Fprintf(out, "policy %s: PASS %d/%d, coverage %.1f%%\n", v.Short(), v.Tests.Passed, v.Tests.Passed+v.Tests.Failed, v.Tests.Coverage)
			return nil
		},
	}

	eval := &cobra.Command{
		Use:   "eval [--dir DIR] [--input FILE] [--lang nb|en] [--json]",
		Short: "What if: decide a hypothetical request (JSON) without logging or releasing anything",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := loadPolicy(cmd.Context(), cmd)
			if err != nil {
				return err
			}
			path, _ := cmd.Flags().GetString("input")
			var b []byte
			if path == "" || path == "-" {
				b, err = io.ReadAll(cmd.InOrStdin())
			} else {
				b, err = os.ReadFile(path)
			}
			if err != nil {
				return fmt.Errorf("read request: %w", err)
			}
			doc, err := policies.ParseInput(b)
			if err != nil {
				return fmt.Errorf("%s: %w", orStdin(path), err)
			}
			d, err := v.Evaluate(cmd.Context(), doc)
			if err != nil {
				return err
			}
			if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
				return writeJSON(cmd.OutOrStdout(), d)
			}
			lang, _ := cmd.Flags().GetString("lang")
			fmt.Fprint(cmd.OutOrStdout(), d.Explain(lang))
			return nil
		},
	}
	eval.Flags().String("input", "-", "request document (JSON); - reads stdin")
	eval.Flags().String("lang", "nb", "language: nb (bokmål) or en")
	eval.Flags().Bool("json", false, "print the decision as JSON")

	replay := &cobra.Command{
		Use:   "replay --data DIR --dir CANDIDATE [--from DATE] [--to DATE] [--json]",
		Short: "Impact of a change: replay logged decisions against a candidate policy and list the flips",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir, _ := cmd.Flags().GetString("dir"); dir == "" {
				return errors.New("--dir CANDIDATE is required: the policy directory to replay against")
			}
			v, err := loadPolicy(cmd.Context(), cmd)
			if err != nil {
				return err
			}
			from, err := dateFlag(cmd, "from")
			if err != nil {
				return err
			}
			to, err := dateFlag(cmd, "to")
			if err != nil {
				return err
			}
			log, closeDB, err := openAuditLog(cmd)
			if err != nil {
				return err
			}
			defer closeDB()
			rep, err := policies.Replay(cmd.Context(), v, log, from, to)
			if err != nil {
				return err
			}
			if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
				return writeJSON(cmd.OutOrStdout(), rep)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "candidate %s: %d decisions replayed, %d unchanged, %d would flip\n", v.Short(), rep.Decisions, rep.Unchanged, len(rep.Flips))
			for dir, n := range rep.Directions {
				fmt.Fprintf(out, "  %s: %d\n", dir, n)
			}
			for _, f := range rep.Flips {
				fmt.Fprintf(out, "entry %d (%s, %s, %s): %s → %s\n", f.Seq, f.DecisionID, f.Actor, f.Time.Format(time.RFC3339), f.From, f.To)
				for _, a := range f.Added {
					fmt.Fprintf(out, "  + [%s] %s (%s)\n", a.Code, a.Title, a.LegalBasis)
				}
				for _, c := range f.Removed {
					fmt.Fprintf(out, "  - [%s] no longer fires\n", c)
				}
			}
			return nil
		},
	}
	replay.Flags().String("data", "", "data directory holding folkekommune.duckdb")
	replay.Flags().String("from", "", "first day (YYYY-MM-DD) or time (RFC 3339) of the period")
	replay.Flags().String("to", "", "end (exclusive) of the period")
	replay.Flags().Bool("json", false, "print the report as JSON")

	version := &cobra.Command{
		Use:   "version [--dir DIR]",
		Short: "Print the policy version: SHA-256 over the policy files and data",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, err := loadPolicy(cmd.Context(), cmd)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), v.Hash)
			return nil
		},
	}

	policyCmd.AddCommand(show, test, eval, replay, version)
	rootCmd.AddCommand(policyCmd)
}

// loadPolicy compiles and tests the embedded policy or the one in --dir.
func loadPolicy(ctx context.Context, cmd *cobra.Command) (*policies.Version, error) {
	dir, _ := cmd.Flags().GetString("dir")
	if dir == "" {
		return policies.Compile(ctx, policies.Embedded, "embedded")
	}
	return policies.CompileDir(ctx, dir)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func orStdin(path string) string {
	if path == "" || path == "-" {
		return "stdin"
	}
	return path
}
