package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/kunnskapskommunen/folkekommune/broker"
	"github.com/kunnskapskommunen/folkekommune/broker/synth"
)

func init() {
	var cfg broker.Config
	var logFormat, scale, source string
	var seed uint64
	cmd := &cobra.Command{
		Use:   "demo [--data DIR] [--addr HOST:PORT] [--scale small|cluster] [--source files|fhir]",
		Short: "Generate synthetic data, pull it, compute indicators and serve, with demo users",
		Long: `demo is the first command to run. It fills the data directory (on the first
run): a synthetic extract of the nine municipalities is generated, pulled and
its indicators computed. With --source fhir the extract is served by the
synthetic FHIR Bulk Data server on a loopback port and pulled through the
FHIR connector (SMART Backend Services, $export, NDJSON) instead of as files. It then creates one user per role with a fresh
bearer token, written to DIR/demo-users.json as {role: token}, seeds the
portfolio (the project FolkeKommune approved for data access, the
researcher its member) and the inquiries, and serves like serve.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("data") && os.Getenv(broker.EnvData) == "" {
				cfg.DataDir = filepath.Join(os.TempDir(), "folkekommune-demo")
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			log, err := serviceLogger(logFormat)
			if err != nil {
				return err
			}
			servingGC(log)
			if scale != string(synth.Small) && scale != string(synth.Cluster) {
				return fmt.Errorf("scale %q: want small or cluster", scale)
			}
			if source != broker.DemoSourceFiles && source != broker.DemoSourceFHIR {
				return fmt.Errorf("source %q: want %s or %s", source, broker.DemoSourceFiles, broker.DemoSourceFHIR)
			}
			db, err := openData(cmd, cfg.DataDir)
			if err != nil {
				return err
			}
			defer db.Close()
			say := func(format string, args ...any) { log.Info(fmt.Sprintf(format, args...)) }
			if _, err := broker.PrepareData(cmd.Context(), db, cfg.DataDir, broker.DataOptions{Scale: synth.Scale(scale), Seed: seed, Source: source, Say: say}); err != nil {
				return err
			}
			srv, err := broker.New(cmd.Context(), db, cfg, log)
			if err != nil {
				return err
			}
			tokens, err := srv.SeedDemo(cmd.Context())
			if err != nil {
				return err
			}
			path, err := broker.WriteDemoUsers(cfg.DataDir, tokens)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", cfg.Addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
			}
			say("demo users and their tokens are in %s; try: curl -H \"Authorization: Bearer $(jq -r .researcher %s)\" http://%s/api/v1/datasets", path, path, ln.Addr())
			return srv.Serve(cmd.Context(), ln)
		},
	}
	serveFlags(cmd, &cfg, &logFormat)
	cmd.Flags().StringVar(&scale, "scale", string(synth.Small), "size of the synthetic population: small (~4 000) or cluster (~402 000)")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "random seed of the synthetic data")
	cmd.Flags().StringVar(&source, "source", broker.DemoSourceFiles, "how the synthetic extract is pulled: files (a file drop) or fhir (FHIR Bulk Data from a loopback test server)")
	rootCmd.AddCommand(cmd)
}
