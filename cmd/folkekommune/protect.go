package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kunnskapskommunen/folkekommune/broker/disclosure"
)

func init() {
	var (
		k, p, rounding int
		zeros, random  bool
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
the published cells and the table's totals. Withheld counts are left empty.

A hierarchy within a dimension is given with --hierarchy DIM=CHILD:PARENT,...
(categories not named have the total as parent), for example
--hierarchy area=460101:4601,460102:4601.

Exit status: 0 when the table was protected, 1 when the input or a flag is
refused (the message names the first offending line), 2 when the table cannot
be protected at all (for example its grand total is below K).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("k") {
				return errors.New("--k is required: the threshold below which a count is withheld")
			}
			if k < 1 {
				return fmt.Errorf("--k %d: want a whole number of at least 1", k)
			}
			if p < 0 {
				return fmt.Errorf("--p %d: want 0 (meaning K) or more", p)
			}
			if rounding < 0 || rounding == 1 {
				return fmt.Errorf("--rounding %d: want 0 (none) or a base of at least 2", rounding)
			}
			parents, err := parseHierarchy(hierarchy)
			if err != nil {
				return err
			}
			opt := disclosure.Options{K: k, P: p, ZerosSensitive: zeros, RoundingBase: rounding}
			if random {
				opt.Rounding = disclosure.RoundRandom
			}
			var out bytes.Buffer
			rep, err := disclosure.ProtectCSV(cmd.Context(), bufio.NewReader(cmd.InOrStdin()), &out, opt, parents)
			if errors.Is(err, disclosure.ErrUnprotectable) {
				return &exitError{code: 2, err: err}
			}
			if err != nil {
				return fmt.Errorf("input: %w", err)
			}
			if _, err := cmd.OutOrStdout().Write(out.Bytes()); err != nil {
				return fmt.Errorf("write output: %w", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "protect: %d cells, %d primary, %d secondary (%.1f %% withheld)\n",
				rep.Cells, rep.Primary, rep.Secondary, 100*rep.SuppressedShare)
			return nil
		},
	}
	cmd.Flags().IntVar(&k, "k", 0, "threshold: counts with 0 < n < K are withheld (required)")
	cmd.Flags().IntVar(&p, "p", 0, "protection level: the attacker's interval must be at least P wide (default K)")
	cmd.Flags().IntVar(&rounding, "rounding", 0, "round published counts to a multiple of B (0 = no rounding)")
	cmd.Flags().BoolVar(&random, "random-rounding", false, "round up with probability remainder/B (fixed per cell) instead of to the nearest")
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
