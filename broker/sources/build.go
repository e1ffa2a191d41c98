package sources

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kunnskapskommunen/folkekommune/broker/extract"
)

// BuildOptions are what building a source needs beyond the sources file.
type BuildOptions struct {
	// SpoolDir is the folder under which the FHIR and sql connectors spool
	// what they download, one subfolder per source; default the system's
	// temporary folder.
	SpoolDir string
	// Since is where an incremental pull starts: the source's high-water
	// mark. Zero means the source's own since setting (or everything).
	Since time.Time
	// Progress, if set, receives the FHIR export's progress texts.
	Progress func(string)
}

// Built is a source ready to pull: the connector, and what to close
// after the pull (spooled files).
type Built struct {
	extract.Source
	conn  extract.Source // the connector itself, without the dataset filter
	close func() error
}

// Close removes what the connector spooled.
func (b *Built) Close() error {
	if b.close == nil {
		return nil
	}
	return b.close()
}

// since is where a pull of s starts.
func (s *Source) since(hwm time.Time) time.Time {
	if !s.Incremental {
		return time.Time{}
	}
	if hwm.After(s.Since) {
		return hwm
	}
	return s.Since
}

// Build makes the connector of s, reading its credentials now (the key
// file, the password file, the DSN's environment variable); it does not
// reach the source.
func Build(s *Source, opt BuildOptions) (*Built, error) {
	spool := opt.SpoolDir
	if spool != "" {
		spool = filepath.Join(spool, s.Name)
		if err := os.MkdirAll(spool, 0o700); err != nil {
			return nil, fmt.Errorf("source %q: spool folder: %w", s.Name, err)
		}
	}
	var src extract.Source
	var closer func() error
	switch s.Kind {
	case FileDrop:
		src = extract.NewFileDrop(s.Folder)
	case FHIR:
		key, err := extract.LoadFHIRKey(s.PrivateKeyFile)
		if err != nil {
			return nil, fmt.Errorf("source %q: %w", s.Name, err)
		}
		f, err := extract.NewFHIRSource(extract.FHIROptions{
			BaseURL: s.BaseURL, Group: s.Group, Since: s.since(opt.Since),
			ClientID: s.ClientID, Key: key, KeyID: s.KeyID, TokenURL: s.TokenURL, Scope: s.Scope,
			SpoolDir: spool, PollTimeout: s.Timeout, Progress: opt.Progress,
		})
		if err != nil {
			return nil, fmt.Errorf("source %q: %w", s.Name, err)
		}
		src, closer = f, f.Close
	case SQL:
		dsn, err := s.dsn()
		if err != nil {
			return nil, err
		}
		src, closer, err = buildSQL(s, dsn, s.since(opt.Since), spool)
		if err != nil {
			return nil, fmt.Errorf("source %q: %w", s.Name, err)
		}
	default:
		return nil, fmt.Errorf("source %q: unknown kind %q", s.Name, s.Kind)
	}
	b := &Built{Source: src, conn: src, close: closer}
	if len(s.Datasets) < len(extract.Layouts) {
		b.Source = &subset{Source: src, datasets: s.Datasets}
	}
	return b, nil
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

// subset is a source that provides only some datasets: its parts are the
// connector's parts of those datasets.
type subset struct {
	extract.Source
	datasets []extract.Dataset
}

func (s *subset) Parts(ctx context.Context) ([]extract.Part, error) {
	parts, err := s.Source.Parts(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(parts, func(p extract.Part) bool { return !slices.Contains(s.datasets, p.Dataset) }), nil
}
