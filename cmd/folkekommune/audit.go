package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/kunnskapskommunen/folkekommune/broker"
	"github.com/kunnskapskommunen/folkekommune/broker/audit"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
)

var auditCmd = &cobra.Command{
	Use:   "audit",
	Short: "Verify and read the hash-chained audit and decision log",
	Long: `The audit log records every policy decision, release, download, approval,
pull and policy change, hash-chained so that an edited, deleted, reordered or
cut-off entry is detected. Its head (seq:hash) is kept in DIR/audit.head;
keep a copy of it somewhere the database's writer cannot reach and pass it
to verify with --head.`,
}

func init() {
	auditCmd.PersistentFlags().String("data", "", "data directory holding folkekommune.duckdb")

	verify := &cobra.Command{
		Use:   "verify --data DIR [--head SEQ:HASH]...",
		Short: "Check the whole chain; exit 2 if the log was tampered with",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, closeDB, err := openAuditLog(cmd)
			if err != nil {
				return err
			}
			defer closeDB()
			var anchors []audit.Head
			heads, _ := cmd.Flags().GetStringArray("head")
			for _, h := range heads {
				a, err := audit.ParseHead(h)
				if err != nil {
					return fmt.Errorf("--head: %w", err)
				}
				anchors = append(anchors, a)
			}
			rep, err := log.VerifyWith(cmd.Context(), anchors...)
			if err != nil {
				return err
			}
			if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				out := cmd.OutOrStdout()
				for _, p := range rep.Problems {
					fmt.Fprintf(out, "entry %d: %s\n", p.Seq, p.Message)
				}
				if rep.OK {
					fmt.Fprintf(out, "audit log intact: %d entries, head %s\n", rep.Entries, rep.Head)
				}
			}
			if !rep.OK {
				return &exitError{2, fmt.Errorf("audit log tampered with: %d problem(s), first at entry %d", len(rep.Problems), rep.Problems[0].Seq)}
			}
			return nil
		},
	}
	verify.Flags().StringArray("head", nil, "a head kept outside the database (seq:hash, as `audit head` prints it); repeatable")
	verify.Flags().Bool("json", false, "print the report as JSON")

	head := &cobra.Command{
		Use:   "head --data DIR",
		Short: "Print the head of the chain (seq:hash) to keep outside the database",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, closeDB, err := openAuditLog(cmd)
			if err != nil {
				return err
			}
			defer closeDB()
			h, err := log.Head(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), h)
			return nil
		},
	}

	list := &cobra.Command{
		Use:   "list --data DIR [--kind KIND] [--actor ID] [--object ID] [--from DATE] [--to DATE] [--limit N]",
		Short: "Print entries as JSON lines, in chain order",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := audit.Filter{}
			f.Kind, _ = cmd.Flags().GetString("kind")
			f.Actor, _ = cmd.Flags().GetString("actor")
			f.Object, _ = cmd.Flags().GetString("object")
			f.Limit, _ = cmd.Flags().GetInt("limit")
			var err error
			if f.From, err = dateFlag(cmd, "from"); err != nil {
				return err
			}
			if f.To, err = dateFlag(cmd, "to"); err != nil {
				return err
			}
			log, closeDB, err := openAuditLog(cmd)
			if err != nil {
				return err
			}
			defer closeDB()
			entries, err := log.List(cmd.Context(), f)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			for _, e := range entries {
				if err := enc.Encode(e); err != nil {
					return err
				}
			}
			return nil
		},
	}
	list.Flags().String("kind", "", "only entries of this kind (decision, release, download, approval, pull, policy.change, ...)")
	list.Flags().String("actor", "", "only entries by this actor")
	list.Flags().String("object", "", "only entries about this object")
	list.Flags().String("from", "", "only entries at or after this date (YYYY-MM-DD) or time (RFC 3339)")
	list.Flags().String("to", "", "only entries before this date (YYYY-MM-DD) or time (RFC 3339)")
	list.Flags().Int("limit", 0, "at most this many entries")

	auditCmd.AddCommand(verify, head, list)
	rootCmd.AddCommand(auditCmd)
}

// openAuditLog opens the audit log of an existing data directory; it never
// creates a database, so that verifying a wrong directory cannot pass.
func openAuditLog(cmd *cobra.Command) (*audit.Log, func(), error) {
	dir, _ := cmd.Flags().GetString("data")
	if dir == "" {
		return nil, nil, errors.New("--data DIR is required: the data directory holding folkekommune.duckdb")
	}
	path := filepath.Join(dir, broker.DBFile)
	if _, err := os.Stat(path); err != nil {
		return nil, nil, fmt.Errorf("no database in %s: %w", dir, err)
	}
	db, err := store.Open(cmd.Context(), path)
	if err != nil {
		return nil, nil, err
	}
	return audit.New(db), func() { db.Close() }, nil
}

// dateFlag reads a date (YYYY-MM-DD, midnight UTC) or an RFC 3339 time.
func dateFlag(cmd *cobra.Command, name string) (time.Time, error) {
	s, _ := cmd.Flags().GetString(name)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--%s %q: want a date (2026-01-31) or an RFC 3339 time", name, s)
	}
	return t, nil
}
