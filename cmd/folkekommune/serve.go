package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/kunnskapskommunen/folkekommune/broker"
	"github.com/kunnskapskommunen/folkekommune/broker/extract"
	"github.com/kunnskapskommunen/folkekommune/policies"
)

// serveFlags binds the service's configuration to flags whose defaults
// come from the environment (broker.DefaultConfig).
func serveFlags(cmd *cobra.Command, cfg *broker.Config, logFormat *string) {
	def := broker.DefaultConfig()
	*cfg = def
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data", def.DataDir, "data directory holding folkekommune.duckdb and pseudonym.key (env "+broker.EnvData+")")
	f.StringVar(&cfg.Addr, "addr", def.Addr, "address to listen on (env "+broker.EnvAddr+")")
	f.StringVar(&cfg.PolicyDir, "policy-dir", def.PolicyDir, "directory of Rego policy files, watched and reloaded (default: the embedded policy; env "+broker.EnvPolicyDir+")")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", def.ShutdownTimeout, "how long requests in flight may take to finish on shutdown")
	f.Int64Var(&cfg.MaxBody, "max-body", def.MaxBody, "largest request body accepted, in bytes (env "+broker.EnvMaxBody+")")
	f.StringVar(&cfg.SMTPAddr, "smtp", def.SMTPAddr, "SMTP server host:port for notification e-mails; also runs daily reminders and retention (env "+broker.EnvSMTP+")")
	f.StringVar(&cfg.MailFrom, "mail-from", def.MailFrom, "sender of notification e-mails (env "+broker.EnvMailFrom+")")
	f.StringVar(logFormat, "log-format", "text", "log format: text or json")
}

// serviceLogger is the structured logger of a serving process.
func serviceLogger(format string) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.Default(), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, nil)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}

// servingGC sets the collector's target for a serving process to
// policies.ServingGCPercent, unless the operator chose one with GOGC: the
// decisions' tail latency is the collector's (see policies/gc.go). It
// returns the target in force.
func servingGC(log *slog.Logger) int {
	if v := os.Getenv("GOGC"); v != "" {
		cur := debug.SetGCPercent(-1)
		debug.SetGCPercent(cur)
		log.Info("garbage collector target", "gogc", cur, "from", "GOGC")
		return cur
	}
	debug.SetGCPercent(policies.ServingGCPercent)
	log.Info("garbage collector target", "gogc", policies.ServingGCPercent, "from", "policies.ServingGCPercent")
	return policies.ServingGCPercent
}

func init() {
	var cfg broker.Config
	var logFormat string
	cmd := &cobra.Command{
		Use:   "serve [--data DIR] [--addr HOST:PORT] [--policy-dir DIR]",
		Short: "Serve the broker's HTTP API",
		Long: `serve runs the broker: the dataset catalogue, table requests and releases,
indicators, the policies and decision log for the privacy officer, and the
portfolio and inquiry registries, under /api/v1 (OpenAPI at
/api/v1/openapi.json), with /healthz, /readyz and /metrics.

With --sources FILE it also pulls the configured sources on their schedule,
one at a time, and reports them to admins under /api/v1/sources and
/api/v1/extracts.

Configuration comes from flags, then the environment (FOLKEKOMMUNE_DATA,
FOLKEKOMMUNE_ADDR, FOLKEKOMMUNE_POLICY_DIR, FOLKEKOMMUNE_MAX_BODY,
FOLKEKOMMUNE_PSEUDONYM_KEY, FOLKEKOMMUNE_SOURCES), then defaults. SIGINT or SIGTERM stops taking
connections and lets requests in flight finish. The Go garbage collector's
target is GOGC=400 unless GOGC is set (policy decisions' tail latency is the
collector's; see policies/README.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.Validate(); err != nil {
				return err
			}
			log, err := serviceLogger(logFormat)
			if err != nil {
				return err
			}
			servingGC(log)
			// The key is not used to serve, but a service whose key is
			// missing or readable by others must not start.
			if _, err := extract.LoadKey(cfg.DataDir); err != nil {
				return err
			}
			db, err := openData(cmd, cfg.DataDir)
			if err != nil {
				return err
			}
			defer db.Close()
			srv, err := broker.New(cmd.Context(), db, cfg, log)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", cfg.Addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
			}
			return srv.Serve(cmd.Context(), ln)
		},
	}
	serveFlags(cmd, &cfg, &logFormat)
	cmd.Flags().StringVar(&cfg.SourcesFile, "sources", os.Getenv(envSources), "YAML file naming the clinical systems to pull from and when; serve runs their schedule (env "+envSources+"; see folkekommune sources)")
	rootCmd.AddCommand(cmd)
}
