package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kunnskapskommunen/folkekommune/broker"
)

func init() {
	var dataDir string
	root := &cobra.Command{
		Use:   "token",
		Short: "Create, revoke and list bearer tokens",
		Long: `token manages the bearer tokens the API accepts. Only a token's SHA-256 is
stored; the token itself is printed once, at creation. The database is owned
by a running service: stop it first (DuckDB allows one writer process).`,
	}
	root.PersistentFlags().StringVar(&dataDir, "data", "", "the broker's data directory (required)")
	root.MarkPersistentFlagRequired("data")

	var user, role, municipality string
	create := &cobra.Command{
		Use:   "create --user U --role R [--municipality KNR]",
		Short: "Issue a token; it is printed once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := openData(cmd, dataDir)
			if err != nil {
				return err
			}
			defer db.Close()
			ts := &broker.TokenStore{DB: db}
			id, tok, err := ts.Create(cmd.Context(), user, role, municipality)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "token", id, "for", user, "as", role)
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	create.Flags().StringVar(&user, "user", "", "user id (required)")
	create.Flags().StringVar(&role, "role", "", "researcher, coordinator, privacy_officer, fou_contact or admin (required)")
	create.Flags().StringVar(&municipality, "municipality", "", "kommunenummer the user works for (coordinators, R&D contacts)")
	create.MarkFlagRequired("user")
	create.MarkFlagRequired("role")

	var id, revokeUser string
	revoke := &cobra.Command{
		Use:   "revoke (--id ID | --user U)",
		Short: "Revoke one token, or every token of a user",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (id == "") == (revokeUser == "") {
				return fmt.Errorf("give --id or --user, not both")
			}
			db, err := openData(cmd, dataDir)
			if err != nil {
				return err
			}
			defer db.Close()
			n, err := (&broker.TokenStore{DB: db}).Revoke(cmd.Context(), id, revokeUser)
			if err != nil {
				return err
			}
			if n == 0 {
				return &exitError{2, fmt.Errorf("no active token matched")}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %d token(s)\n", n)
			return nil
		},
	}
	revoke.Flags().StringVar(&id, "id", "", "token id (the part after fk_, before the second _)")
	revoke.Flags().StringVar(&revokeUser, "user", "", "revoke every token of this user")

	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens (never their secrets) as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := openData(cmd, dataDir)
			if err != nil {
				return err
			}
			defer db.Close()
			ts, err := (&broker.TokenStore{DB: db}).List(cmd.Context())
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(ts)
		},
	}
	root.AddCommand(create, revoke, list)
	rootCmd.AddCommand(root)
}
