package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kunnskapskommunen/folkekommune/broker/disclosure"
)

func init() {
	var (
		k, p, rounding int
		zeros          bool
		hierarchy      []string
	)
	cmd := &cobra.Command{
		Use:   "protect --k K [--rounding B]",
		Short: "Apply disclosure control to a table read as CSV on stdin",
		Long: `protect reads a table as CSV on stdin — one column per dimension, then count,
with every combination of categories including the totals (_T) — and writes
the same rows with a status column (published, primary, secondary) on stdout.
Counts with 0 < n < K are primary; further cells are withheld so that no
primary cell can be narrowed below P (default K) by linear programming over
the published cells and the table's totals. Suppressed counts are left empty.

A hierarchy within a dimension is given with --hierarchy DIM=CHILD:PARENT,...
(categories not named have the total as parent).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("k") {
				return fmt.Errorf("--k is required: the threshold below which a count is withheld")
			}
			parents, err := parseHierarchy(hierarchy)
			if err != nil {
				return err
			}
			opt := disclosure.Options{K: k, P: p, ZerosSensitive: zeros, RoundingBase: rounding}
			if k < 1 {
				return fmt.Errorf("--k %d: want a whole number of at least 1", k)
			}
			if p < 0 {
				return fmt.Errorf("--p %d: want 0 (meaning K) or more", p)
			}
			if rounding < 0 {
				return fmt.Errorf("--rounding %d: want 0 (none) or a base of at least 2", rounding)
			}
			ct, err := disclosure.ReadCSV(bufio.NewReader(cmd.InOrStdin()), parents)
			if err != nil {
				return fmt.Errorf("input: %w", err)
			}
			if err := ct.Check(); err != nil {
				return fmt.Errorf("input: %w", err)
			}
			rep, err := disclosure.Protect(cmd.Context(), ct.Table, opt)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			out := bufio.NewWriter(cmd.OutOrStdout())
			if err := disclosure.WriteCSV(out, ct.Table); err != nil {
				return fmt.Errorf("write output: %w", err)
			}
			if err := out.Flush(); err != nil {
				return fmt.Errorf("write output: %w", err)
			}
			fmt.Fprintf(os.Stderr, "protect: %d cells, %d primary, %d secondary (%.1f %% withheld), %d LPs in the audit\n",
				rep.Cells, rep.Primary, rep.Secondary, 100*rep.SuppressedShare, rep.Audit.LPs)
			return nil
		},
	}
	cmd.Flags().IntVar(&k, "k", 0, "threshold: counts with 0 < n < K are withheld (required)")
	cmd.Flags().IntVar(&p, "p", 0, "protection level: the attacker's interval must be at least P wide (default K)")
	cmd.Flags().IntVar(&rounding, "rounding", 0, "round published counts to a multiple of B (0 = no rounding)")
	cmd.Flags().BoolVar(&zeros, "zeros-sensitive", false, "treat zero counts as primary too")
	cmd.Flags().StringArrayVar(&hierarchy, "hierarchy", nil, "DIM=CHILD:PARENT,... parent of categories within a dimension (repeatable)")
	rootCmd.AddCommand(cmd)
}

// parseHierarchy reads --hierarchy values of the form DIM=CHILD:PARENT,...
func parseHierarchy(specs []string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for _, s := range specs {
		dim, list, ok := strings.Cut(s, "=")
		if !ok || dim == "" || list == "" {
			return nil, fmt.Errorf("--hierarchy %q: want DIM=CHILD:PARENT,...", s)
		}
		if out[dim] == nil {
			out[dim] = map[string]string{}
		}
		for _, pair := range strings.Split(list, ",") {
			child, parent, ok := strings.Cut(pair, ":")
			if !ok || child == "" || parent == "" {
				return nil, fmt.Errorf("--hierarchy %q: %q is not CHILD:PARENT", s, pair)
			}
			out[dim][child] = parent
		}
	}
	return out, nil
}
