package broker

import (
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/kunnskapskommunen/folkekommune/broker/cube"
	"github.com/kunnskapskommunen/folkekommune/broker/requests"
)

// Table formats a release or indicator can be downloaded in.
type format struct {
	name, mediaType, ext string
}

var formats = []format{
	{"json", "application/json", "json"},
	{"csv", "text/csv", "csv"},
	{"jsonstat", "application/vnd.json-stat+json", "json"},
	{"arrow", "application/vnd.apache.arrow.stream", "arrows"},
	{"parquet", "application/vnd.apache.parquet", "parquet"},
}

// FormatNames lists the table formats by their ?format= names.
func FormatNames() []string {
	out := make([]string, len(formats))
	for i, f := range formats {
		out[i] = f.name
	}
	return out
}

// negotiate picks the format from ?format= or the Accept header; JSON
// when neither says.
func negotiate(r *http.Request) (format, error) {
	if name := r.URL.Query().Get("format"); name != "" {
		for _, f := range formats {
			if f.name == name {
				return f, nil
			}
		}
		return format{}, &requests.InputError{Field: "format", Problem: fmt.Sprintf("%q: want one of %s", name, strings.Join(FormatNames(), ", "))}
	}
	accept := r.Header.Get("Accept")
	if accept == "" {
		return formats[0], nil
	}
	for _, part := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "*/*", "application/*":
			return formats[0], nil
		case "text/*":
			return formats[1], nil
		case "application/x-parquet", "application/parquet":
			return formats[4], nil
		case "application/vnd.apache.arrow.file":
			return formats[3], nil
		}
		for _, f := range formats {
			if f.mediaType == mt {
				return f, nil
			}
		}
	}
	return format{}, &requests.InputError{Field: "Accept", Problem: fmt.Sprintf("%q: none of the offered types (application/json, text/csv, application/vnd.json-stat+json, application/vnd.apache.arrow.stream, application/vnd.apache.parquet)", accept)}
}

// writeTable writes t in f. Only published cells carry numbers, whatever
// the format (the cube encoders guarantee it).
func writeTable(w http.ResponseWriter, r *http.Request, f format, t *cube.Table, name string, meta cube.JSONStatOptions) error {
	lang := r.URL.Query().Get("lang")
	if lang != "" && lang != "nb" && lang != "en" {
		return &requests.InputError{Field: "lang", Problem: fmt.Sprintf("%q: want nb or en", lang)}
	}
	ct := f.mediaType
	if f.name == "csv" {
		ct += "; charset=utf-8; header=present"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="%s.%s"`, name, f.ext))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	switch f.name {
	case "csv":
		return cube.WriteCSV(w, t, cube.CSVOptions{Lang: lang, Labels: r.URL.Query().Get("labels") == "true"})
	case "jsonstat":
		meta.Lang = lang
		return cube.WriteJSONStat(w, t, meta)
	case "arrow":
		return cube.WriteArrowIPC(w, t)
	case "parquet":
		return cube.WriteParquet(w, t)
	}
	return cube.WriteJSON(w, t)
}
