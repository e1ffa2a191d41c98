// Package indicators computes public-health indicators
// (folkehelseindikatorer) from the pulled extract, in the manner of the
// Norwegian Institute of Public Health's municipal profiles: for every
// municipality, Bergen district and the whole cluster, every year, by sex
// and in total, with crude and directly age-standardised rates, 3-year
// moving averages, 95 % confidence intervals suited to small counts, a
// comparison with the cluster, and small-number suppression.
//
// Each indicator is a YAML definition file in this folder (embedded in the
// binary; README.md documents the format). A definition says, as
// conditions on a person in a period, who is in the population
// (denominator) and who has the event or state (numerator); the engine
// compiles the conditions from a closed vocabulary to DuckDB SQL with bound
// parameters, does the grouping, and stores the results per extract
// version.
package indicators

import (
	"embed"
	"io/fs"
)

//go:embed *.yaml
var builtin embed.FS

// Builtin loads the definitions the binary carries.
func Builtin() ([]*Definition, error) { return Load(builtin) }

// BuiltinFS is the folder of definitions the binary carries.
func BuiltinFS() fs.FS { return builtin }
