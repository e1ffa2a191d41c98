package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/kunnskapskommunen/folkekommune/broker"
	"github.com/kunnskapskommunen/folkekommune/broker/audit"
	"github.com/kunnskapskommunen/folkekommune/broker/catalog"
	"github.com/kunnskapskommunen/folkekommune/broker/inquiry"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio"
	"github.com/kunnskapskommunen/folkekommune/broker/portfolio/report"
	"github.com/kunnskapskommunen/folkekommune/broker/store"
)

// registries are the portfolio and inquiry registries over the data
// directory's database, audited in its audit log.
type registries struct {
	db        *store.DB
	portfolio *portfolio.Registry
	inquiries *inquiry.Registry
}

func openRegistries(cmd *cobra.Command) (*registries, error) {
	dir, _ := cmd.Flags().GetString("data")
	if dir == "" {
		return nil, errors.New("--data DIR is required: the data directory holding folkekommune.duckdb")
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("data directory %s does not exist", dir)
	}
	db, err := store.Open(cmd.Context(), filepath.Join(dir, broker.DBFile))
	if err != nil {
		return nil, err
	}
	p := portfolio.New(db, portfolio.AuditLog(audit.New(db)))
	return &registries{db: db, portfolio: p, inquiries: inquiry.New(p)}, nil
}

// registryActor is the operator at the command line: an adviser, named in the
// audit log by --actor.
func registryActor(cmd *cobra.Command) portfolio.Actor {
	id, _ := cmd.Flags().GetString("actor")
	return portfolio.Actor{ID: id, Role: portfolio.RoleAdmin}
}

func printRegistryJSON(cmd *cobra.Command, v any) error {
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func init() {
	portfolioCmd := &cobra.Command{
		Use:   "portfolio",
		Short: "The portfolio of research, innovation and education projects",
	}
	portfolioCmd.PersistentFlags().String("data", "", "data directory holding folkekommune.duckdb")
	portfolioCmd.PersistentFlags().String("actor", "cli", "who is acting, as the audit log names them")

	reportCmd := &cobra.Command{
		Use:   "report",
		Short: "Figures for the yearly report, per municipality and for the cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			year, _ := cmd.Flags().GetInt("year")
			format, _ := cmd.Flags().GetString("format")
			muni, _ := cmd.Flags().GetString("municipality")
			if year < 1990 || year > 2100 {
				return fmt.Errorf("--year %d is not a year", year)
			}
			if format != "json" && format != "csv" {
				return fmt.Errorf("--format %q: use json or csv", format)
			}
			if _, ok := catalog.MunicipalityByCode(muni); muni != "" && muni != catalog.Total && !ok {
				return fmt.Errorf("--municipality %q is not a municipality of the collaboration", muni)
			}
			r, err := openRegistries(cmd)
			if err != nil {
				return err
			}
			defer r.db.Close()
			rep, err := report.Compute(cmd.Context(), r.db, year)
			if err != nil {
				return err
			}
			if muni != "" {
				var keep []report.Figures
				for _, f := range rep.Figures {
					if f.Municipality == muni {
						keep = append(keep, f)
					}
				}
				rep.Figures = keep
			}
			if format == "csv" {
				return rep.WriteCSV(cmd.OutOrStdout())
			}
			return rep.WriteJSON(cmd.OutOrStdout())
		},
	}
	reportCmd.Flags().Int("year", time.Now().Year(), "the report's year")
	reportCmd.Flags().String("format", "json", "json or csv")
	reportCmd.Flags().String("municipality", "", "only this kommunenummer (or _T for the cluster)")

	listCmd := &cobra.Command{
		Use:   "list",
		Short: "List projects (the public view) as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var f portfolio.Filter
			f.Status, _ = cmd.Flags().GetString("status")
			f.Type, _ = cmd.Flags().GetString("type")
			f.Municipality, _ = cmd.Flags().GetString("municipality")
			r, err := openRegistries(cmd)
			if err != nil {
				return err
			}
			defer r.db.Close()
			ps, err := r.portfolio.List(cmd.Context(), f)
			if err != nil {
				return err
			}
			out := make([]portfolio.Project, len(ps))
			for i, p := range ps {
				out[i] = p.Public()
			}
			return printRegistryJSON(cmd, out)
		},
	}
	listCmd.Flags().String("status", "", "only projects in this status")
	listCmd.Flags().String("type", "", "only projects of this type")
	listCmd.Flags().String("municipality", "", "only projects this municipality takes part in")

	transitionCmd := &cobra.Command{
		Use:   "transition PROJECT-ID ACTION",
		Short: "Take a workflow action on a project (apply, start, grant, reject, replan, complete, request_access, approve_access, refuse_access, revoke_access)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("project id %q is not a number", args[0])
			}
			note, _ := cmd.Flags().GetString("note")
			r, err := openRegistries(cmd)
			if err != nil {
				return err
			}
			defer r.db.Close()
			p, err := r.portfolio.Transition(cmd.Context(), registryActor(cmd), id, args[1], note)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: status %s, data access %s\n", p.Ref(), p.Status, p.DataAccess)
			return nil
		},
	}
	transitionCmd.Flags().String("note", "", "a note for the audit log and the notification")

	needsCmd := &cobra.Command{
		Use:   "needs",
		Short: "List the knowledge needs, with the projects and inquiries that answer them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var f portfolio.NeedFilter
			f.Unmet, _ = cmd.Flags().GetBool("unmet")
			f.Municipality, _ = cmd.Flags().GetString("municipality")
			r, err := openRegistries(cmd)
			if err != nil {
				return err
			}
			defer r.db.Close()
			needs, err := r.portfolio.Needs(cmd.Context(), f)
			if err != nil {
				return err
			}
			return printRegistryJSON(cmd, needs)
		},
	}
	needsCmd.Flags().Bool("unmet", false, "only open needs no project answers")
	needsCmd.Flags().String("municipality", "", "only needs of this municipality (and the whole collaboration)")

	workflowCmd := &cobra.Command{
		Use:   "workflows",
		Short: "Print the transition tables (roles, audit events, notifications) as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return printRegistryJSON(cmd, []portfolio.Workflow{portfolio.ProjectWorkflow, portfolio.AccessWorkflow, inquiry.AssignmentWorkflow})
		},
	}

	seedCmd := &cobra.Command{
		Use:   "seed",
		Short: "Fill empty registries with the demo portfolio, knowledge needs, R&D contacts and inquiries",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			members, _ := cmd.Flags().GetStringSlice("member")
			r, err := openRegistries(cmd)
			if err != nil {
				return err
			}
			defer r.db.Close()
			ps, err := portfolio.SeedDemo(cmd.Context(), r.portfolio, members...)
			if err != nil {
				return err
			}
			is, err := inquiry.SeedDemo(cmd.Context(), r.inquiries)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "seeded %d projects and %d inquiries\n", len(ps), len(is))
			return nil
		},
	}
	seedCmd.Flags().StringSlice("member", []string{"researcher"}, "broker users who may request data for FolkeKommune")

	portfolioCmd.AddCommand(reportCmd, listCmd, transitionCmd, needsCmd, workflowCmd, seedCmd)
	rootCmd.AddCommand(portfolioCmd)
}
