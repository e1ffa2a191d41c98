package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/kunnskapskommunen/folkekommune/broker/notify"
)

func init() {
	inquiryCmd := &cobra.Command{
		Use:   "inquiry",
		Short: "The registry of research inquiries (forskningshenvendelser)",
	}
	inquiryCmd.PersistentFlags().String("data", "", "data directory holding folkekommune.duckdb")
	inquiryCmd.PersistentFlags().String("actor", "cli", "who is acting, as the audit log names them")

	listCmd := &cobra.Command{
		Use:   "list",
		Short: "List inquiries with their assignments as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := openRegistries(cmd)
			if err != nil {
				return err
			}
			defer r.db.Close()
			list, err := r.inquiries.List(cmd.Context(), registryActor(cmd))
			if err != nil {
				return err
			}
			return printRegistryJSON(cmd, list)
		},
	}

	actCmd := &cobra.Command{
		Use:   "act ASSIGNMENT-ID ACTION",
		Short: "Take a workflow action on an assignment (assess, request_information, supplement, accept, decline, withdraw)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("assignment id %q is not a number", args[0])
			}
			assessment, _ := cmd.Flags().GetString("assessment")
			answer, _ := cmd.Flags().GetString("answer")
			r, err := openRegistries(cmd)
			if err != nil {
				return err
			}
			defer r.db.Close()
			a, err := r.inquiries.Act(cmd.Context(), registryActor(cmd), id, args[1], assessment, answer)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "assignment %d: %s\n", a.ID, a.Status)
			return nil
		},
	}
	actCmd.Flags().String("assessment", "", "internal assessment (never sent to the researcher)")
	actCmd.Flags().String("answer", "", "the answer sent to the researcher")

	convertCmd := &cobra.Command{
		Use:   "convert INQUIRY-ID",
		Short: "Turn an accepted inquiry into a portfolio project, keeping the link",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("inquiry id %q is not a number", args[0])
			}
			r, err := openRegistries(cmd)
			if err != nil {
				return err
			}
			defer r.db.Close()
			p, err := r.inquiries.ToProject(cmd.Context(), registryActor(cmd), id, nil)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "inquiry/%d became %s\n", id, p.Ref())
			return nil
		},
	}

	remindCmd := &cobra.Command{
		Use:   "remind",
		Short: "Queue reminders before answer deadlines and notices after them (idempotent; run daily)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := openRegistries(cmd)
			if err != nil {
				return err
			}
			defer r.db.Close()
			rep, err := r.inquiries.SendReminders(cmd.Context())
			if err != nil {
				return err
			}
			return printRegistryJSON(cmd, rep)
		},
	}

	deliverCmd := &cobra.Command{
		Use:   "deliver",
		Short: "Send due notification e-mails from the outbox over SMTP, with retries",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			addr, _ := cmd.Flags().GetString("smtp")
			from, _ := cmd.Flags().GetString("from")
			attempts, _ := cmd.Flags().GetInt("max-attempts")
			backoff, _ := cmd.Flags().GetDuration("backoff")
			r, err := openRegistries(cmd)
			if err != nil {
				return err
			}
			defer r.db.Close()
			m := &notify.Mailer{DB: r.db.DB, Addr: addr, From: from, MaxAttempts: attempts, Backoff: backoff}
			rep, err := m.Deliver(cmd.Context())
			if err != nil {
				return err
			}
			return printRegistryJSON(cmd, rep)
		},
	}
	deliverCmd.Flags().String("smtp", "127.0.0.1:25", "SMTP server host:port")
	deliverCmd.Flags().String("from", "kunnskapskommunen@bergen.kommune.no", "sender address")
	deliverCmd.Flags().Int("max-attempts", 5, "attempts before a message is marked failed")
	deliverCmd.Flags().Duration("backoff", time.Minute, "wait after the first failure, doubled after each")

	eraseCmd := &cobra.Command{
		Use:   "erase",
		Short: "Erase a person (researcher or contact) from the registries and the outbox on request",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			email, _ := cmd.Flags().GetString("email")
			r, err := openRegistries(cmd)
			if err != nil {
				return err
			}
			defer r.db.Close()
			rep, err := r.inquiries.ErasePerson(cmd.Context(), registryActor(cmd), email)
			if err != nil {
				return err
			}
			return printRegistryJSON(cmd, rep)
		},
	}
	eraseCmd.Flags().String("email", "", "the person's e-mail address")
	eraseCmd.MarkFlagRequired("email")

	retentionCmd := &cobra.Command{
		Use:   "retention",
		Short: "Anonymise researchers of inquiries closed longer than the retention period (24 months)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := openRegistries(cmd)
			if err != nil {
				return err
			}
			defer r.db.Close()
			n, err := r.inquiries.ApplyRetention(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "anonymised %d inquiries\n", n)
			return nil
		},
	}

	inquiryCmd.AddCommand(listCmd, actCmd, convertCmd, remindCmd, deliverCmd, eraseCmd, retentionCmd)
	rootCmd.AddCommand(inquiryCmd)
}
