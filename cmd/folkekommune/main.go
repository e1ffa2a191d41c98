// Command folkekommune is the FolkeKommune broker: it generates synthetic
// municipal extracts, pulls them into DuckDB, computes public-health
// indicators, protects tables and serves approved aggregates.
//
// This package only wires flags to constructors; every capability lives in
// the broker packages. Each subcommand has its own file and registers itself
// with the root command in an init function, so that subcommands can be added
// without touching one another.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// rootCmd is the folkekommune command; subcommands add themselves to it.
var rootCmd = &cobra.Command{
	Use:   "folkekommune",
	Short: "The FolkeKommune health-data broker",
	Long: `folkekommune is the broker of Kunnskapskommunen Helse Omsorg Vest: it pulls
extracts from the municipalities' clinical systems, pseudonymises them at the
border, computes public-health indicators in DuckDB and releases only
aggregates that have passed policy, disclosure control and the audit log.`,
	SilenceUsage:  true,
	SilenceErrors: true,
	PersistentPreRun: func(cmd *cobra.Command, _ []string) {
		level := slog.LevelInfo
		if verbose, _ := cmd.Flags().GetBool("verbose"); verbose {
			level = slog.LevelDebug
		}
		slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
	},
}

func init() {
	rootCmd.PersistentFlags().BoolP("verbose", "v", false, "log debug detail")
}

// exitError carries a specific exit code out of a subcommand.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := rootCmd.ExecuteContext(ctx)
	stop()
	if err == nil {
		return
	}
	fmt.Fprintf(os.Stderr, "folkekommune: %v\n", err)
	var ee *exitError
	if errors.As(err, &ee) {
		os.Exit(ee.code)
	}
	os.Exit(1)
}
