package sources

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kunnskapskommunen/folkekommune/broker/extract"
)

// checker is a connector that can test its connection without pulling.
type checker interface {
	Check(ctx context.Context) error
}

// Check reaches the source without pulling from it: a file drop's folder
// and its files; a FHIR server's SMART configuration and an access token;
// an SQL replica's connection, read-only transaction and its queries'
// columns. It returns a short note on what it found.
func Check(ctx context.Context, s *Source, opt BuildOptions) (string, error) {
	if s.Kind == FileDrop {
		return checkFolder(s)
	}
	src, close, err := Build(s, opt)
	if err != nil {
		return "", err
	}
	defer close()
	c, ok := src.(checker)
	if !ok {
		return "", fmt.Errorf("source %q: the %s connector cannot be checked without pulling", s.Name, s.Kind)
	}
	if err := c.Check(ctx); err != nil {
		return "", fmt.Errorf("source %q: %w", s.Name, err)
	}
	switch s.Kind {
	case FHIR:
		return "SMART configuration read, access token granted", nil
	default:
		return fmt.Sprintf("connected read-only, %d queries answer with the expected columns", len(s.Queries)), nil
	}
}

// checkFolder finds each of the source's datasets' files in its folder,
// without reading them (the pull checksums and validates them).
func checkFolder(s *Source) (string, error) {
	st, err := os.Stat(s.Folder)
	if err != nil {
		return "", fmt.Errorf("source %q: folder %s: %w", s.Name, s.Folder, errors.Unwrap(err))
	}
	if !st.IsDir() {
		return "", fmt.Errorf("source %q: %s is not a folder", s.Name, s.Folder)
	}
	var files int
	var bytes int64
	for _, l := range extract.Layouts {
		if !contains(s.Datasets, l.Dataset) {
			continue
		}
		found := false
		for _, ext := range []string{".csv", ".parquet"} {
			if fi, err := os.Stat(filepath.Join(s.Folder, filepath.FromSlash(l.File)+ext)); err == nil && fi.Mode().IsRegular() {
				found = true
				files++
				bytes += fi.Size()
			}
		}
		if !found {
			return "", fmt.Errorf("source %q: folder %s has no %s.csv or %s.parquet (dataset %s)", s.Name, s.Folder, l.File, l.File, l.Dataset)
		}
	}
	return fmt.Sprintf("%d files, %.1f MB", files, float64(bytes)/1e6), nil
}

func contains(ds []extract.Dataset, d extract.Dataset) bool {
	for _, x := range ds {
		if x == d {
			return true
		}
	}
	return false
}
