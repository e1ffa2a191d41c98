package sources

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/kunnskapskommunen/folkekommune/broker/extract"
)

// BuildOptions are what building a source needs beyond the sources file.
type BuildOptions struct {
	// SpoolDir is the folder under which the FHIR and sql connectors spool
	// what they download, one subfolder per source; default the system's
	// temporary folder.
	SpoolDir string
	// Progress, if set, receives the FHIR export's progress texts.
	Progress func(string)
}

// Build makes the connector of s, reading its credentials now (the key
// file, the password file, the DSN's environment variable); it does not
// reach the source. close removes what the connector spooled. The
// connector is returned as itself, never wrapped, so that Pull sees what
// it can do (incremental exports, record ids, resumable downloads).
func Build(s *Source, opt BuildOptions) (src extract.Source, close func() error, err error) {
	spool := opt.SpoolDir
	if spool != "" {
		spool = filepath.Join(spool, s.Name)
		if err := os.MkdirAll(spool, 0o700); err != nil {
			return nil, nil, fmt.Errorf("source %q: spool folder: %w", s.Name, err)
		}
	}
	switch s.Kind {
	case FileDrop:
		return extract.NewFileDrop(s.Folder), func() error { return nil }, nil
	case FHIR:
		key, err := extract.LoadFHIRKey(s.PrivateKeyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("source %q: %w", s.Name, err)
		}
		f, err := extract.NewFHIRSource(extract.FHIROptions{
			BaseURL: s.BaseURL, Group: s.Group,
			ClientID: s.ClientID, Key: key, KeyID: s.KeyID, TokenURL: s.TokenURL, Scope: s.Scope,
			SpoolDir: spool, PollTimeout: s.Timeout, Progress: opt.Progress,
			// The spool is this source's own folder under the data
			// directory, so a pull stopped mid-download (the broker
			// restarted or killed) continues the same export.
			Resume:   spool != "",
			Datasets: s.Datasets,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("source %q: %w", s.Name, err)
		}
		return f, f.Close, nil
	case SQL:
		dsn, err := s.dsn()
		if err != nil {
			return nil, nil, err
		}
		src, close, err := buildSQL(s, dsn, spool)
		if err != nil {
			return nil, nil, fmt.Errorf("source %q: %w", s.Name, err)
		}
		return src, close, nil
	}
	return nil, nil, fmt.Errorf("source %q: unknown kind %q", s.Name, s.Kind)
}

// dsn assembles the sql source's DSN: inline or from the environment,
// with the password from its file.
func (s *Source) dsn() (string, error) {
	dsn := s.DSN
	if s.DSNEnv != "" {
		if dsn = os.Getenv(s.DSNEnv); dsn == "" {
			return "", fmt.Errorf("source %q: the environment variable %s (dsn_env) is not set", s.Name, s.DSNEnv)
		}
	}
	if s.PasswordFile == "" {
		return dsn, nil
	}
	b, err := os.ReadFile(s.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("source %q: password_file: %w", s.Name, errors.Unwrap(err))
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if u, err := url.Parse(dsn); err == nil && u.Host != "" {
		u.User = url.UserPassword(u.User.Username(), pw)
		return u.String(), nil
	}
	// The key=value form quotes values with single quotes and backslashes.
	return dsn + " password='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(pw) + "'", nil
}
