// Package broker is the FolkeKommune service: its configuration, the
// wiring of the domain packages into one HTTP server (chi), the
// middleware (structured logs, metrics, bearer-token authentication and
// roles), and the HTTP handlers of the API under /api/v1 — one file per
// resource. Errors are mapped to HTTP status codes in one place
// (errors.go); the domain packages do not import net/http.
package broker

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Environment variables that configure the service; flags override them.
const (
	EnvData      = "FOLKEKOMMUNE_DATA"
	EnvAddr      = "FOLKEKOMMUNE_ADDR"
	EnvPolicyDir = "FOLKEKOMMUNE_POLICY_DIR"
	EnvMaxBody   = "FOLKEKOMMUNE_MAX_BODY"
	EnvSMTP      = "FOLKEKOMMUNE_SMTP"
	EnvMailFrom  = "FOLKEKOMMUNE_MAIL_FROM"
)

// DBFile is the database's name inside the data directory.
const DBFile = "folkekommune.duckdb"

// Config is the service's configuration.
type Config struct {
	DataDir string // holds folkekommune.duckdb and pseudonym.key
	Addr    string // host:port to listen on
	// PolicyDir, when set, is a directory of Rego files watched and
	// reloaded; empty means the policy embedded in the binary.
	PolicyDir string
	// ShutdownTimeout bounds how long requests in flight may take to finish.
	ShutdownTimeout time.Duration
	// MaxBody is the largest request body accepted, in bytes.
	MaxBody int64
	// SMTPAddr, when set (host:port), is where the notification outbox is
	// delivered every minute; deadline reminders and the registries'
	// retention rule then run daily too. Empty: e-mails wait in the outbox
	// (folkekommune inquiry deliver sends them by hand).
	SMTPAddr string
	// MailFrom is the sender of notification e-mails.
	MailFrom string
	// SourcesFile, when set, is the YAML file naming the clinical systems
	// to pull from and their schedule (see sources.go).
	SourcesFile string
}

// DefaultConfig is the configuration before flags: the defaults, then the
// environment.
func DefaultConfig() Config {
	c := Config{
		DataDir:         "./data",
		Addr:            "127.0.0.1:8080",
		ShutdownTimeout: 20 * time.Second,
		MaxBody:         64 << 10,
	}
	if v := os.Getenv(EnvData); v != "" {
		c.DataDir = v
	}
	if v := os.Getenv(EnvAddr); v != "" {
		c.Addr = v
	}
	if v := os.Getenv(EnvPolicyDir); v != "" {
		c.PolicyDir = v
	}
	c.MailFrom = "fou@kunnskapskommunen.no"
	if v := os.Getenv(EnvSMTP); v != "" {
		c.SMTPAddr = v
	}
	if v := os.Getenv(EnvMailFrom); v != "" {
		c.MailFrom = v
	}
	if v, err := strconv.ParseInt(os.Getenv(EnvMaxBody), 10, 64); err == nil && v > 0 {
		c.MaxBody = v
	}
	return c
}

// Validate checks the configuration and names the first bad setting.
func (c Config) Validate() error {
	if c.DataDir == "" {
		return fmt.Errorf("data directory: none given (--data or %s)", EnvData)
	}
	if c.Addr == "" {
		return fmt.Errorf("address: none given (--addr or %s)", EnvAddr)
	}
	if c.PolicyDir != "" {
		fi, err := os.Stat(c.PolicyDir)
		if err != nil || !fi.IsDir() {
			return fmt.Errorf("policy directory %s: not a directory", c.PolicyDir)
		}
	}
	if c.MaxBody <= 0 {
		return fmt.Errorf("max body %d: want a positive number of bytes", c.MaxBody)
	}
	return nil
}

// DBPath is the database file of the data directory.
func (c Config) DBPath() string { return filepath.Join(c.DataDir, DBFile) }
