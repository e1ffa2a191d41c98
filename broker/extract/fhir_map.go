package extract

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	json "github.com/goccy/go-json"
)

// The code systems and extensions the connector reads. The source codes
// inside them are the file drop's (layout.go), so both connectors feed the
// same checks.
const (
	FHIRSystemFNR          = "urn:oid:2.16.578.1.12.4.1.4.1" // fødselsnummer
	FHIRSystemDNumber      = "urn:oid:2.16.578.1.12.4.1.4.2" // D-nummer
	FHIRSystemMunicipality = "urn:oid:2.16.578.1.12.4.1.1.3402"
	FHIRSystemDistrict     = "urn:oid:2.16.578.1.12.4.1.1.3403"
	FHIRSystemICPC2        = "urn:oid:2.16.578.1.12.4.1.1.7170"
	FHIRSystemLOINC        = "http://loinc.org"
	FHIRSystemActCode      = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	FHIRSystemCheck        = "urn:folkekommune:kodeverk:helsestasjon-kontroll"
	FHIRSystemVaccine      = "urn:folkekommune:kodeverk:vaksine"
	FHIRSystemContactType  = "urn:folkekommune:kodeverk:kontakttype"
	FHIRSystemCare         = "urn:folkekommune:kodeverk:iplos-tjeneste"
	FHIRExtMunicipality    = "http://hl7.no/fhir/StructureDefinition/no-basis-municipalitycode"
	FHIRExtDistrict        = "http://hl7.no/fhir/StructureDefinition/no-basis-urban-district"
	loincHeight            = "8302-2"
	loincWeight            = "29463-7"
)

var (
	classService = map[string]string{"AMB": "fastlege", "EMER": "legevakt"}
	genderSex    = map[string]string{"male": "M", "female": "K"}
)

// The elements of FHIR R4 the mapping reads.
type (
	fhirCoding struct {
		System string `json:"system"`
		Code   string `json:"code"`
	}
	fhirConcept struct {
		Coding []fhirCoding `json:"coding"`
	}
	fhirIdentifier struct {
		System string `json:"system"`
		Value  string `json:"value"`
	}
	fhirReference struct {
		Reference  string          `json:"reference"`
		Identifier *fhirIdentifier `json:"identifier"`
	}
	fhirPeriod struct {
		Start string `json:"start"`
		End   string `json:"end"`
	}
	fhirQuantity struct {
		Value json.Number `json:"value"`
		Code  string      `json:"code"`
		Unit  string      `json:"unit"`
	}
	fhirResource struct {
		ResourceType string           `json:"resourceType"`
		ID           string           `json:"id"`
		Status       string           `json:"status"`
		Identifier   []fhirIdentifier `json:"identifier"`
		Gender       string           `json:"gender"`
		BirthDate    string           `json:"birthDate"`
		Deceased     string           `json:"deceasedDateTime"`
		Address      []struct {
			Extension []struct {
				URL         string      `json:"url"`
				ValueCoding *fhirCoding `json:"valueCoding"`
			} `json:"extension"`
			Period *fhirPeriod `json:"period"`
		} `json:"address"`
		Code          *fhirConcept  `json:"code"`
		ValueQuantity *fhirQuantity `json:"valueQuantity"`
		Component     []struct {
			Code          fhirConcept   `json:"code"`
			ValueQuantity *fhirQuantity `json:"valueQuantity"`
		} `json:"component"`
		Subject           *fhirReference  `json:"subject"`
		Patient           *fhirReference  `json:"patient"`
		Encounter         *fhirReference  `json:"encounter"`
		Effective         string          `json:"effectiveDateTime"`
		EffectivePeriod   *fhirPeriod     `json:"effectivePeriod"`
		Occurrence        string          `json:"occurrenceDateTime"`
		Period            *fhirPeriod     `json:"period"`
		Performer         json.RawMessage `json:"performer"`
		ServiceProvider   *fhirReference  `json:"serviceProvider"`
		Managing          *fhirReference  `json:"managingOrganization"`
		VaccineCode       *fhirConcept    `json:"vaccineCode"`
		Class             *fhirCoding     `json:"class"`
		Type              []fhirConcept   `json:"type"`
		VerificationState *fhirConcept    `json:"verificationStatus"`
		ProtocolApplied   []struct {
			Dose json.Number `json:"doseNumberPositiveInt"`
		} `json:"protocolApplied"`
	}
)

// code returns the concept's code in system, else the first coding as
// "system|code" (which no code list holds, so the record is quarantined
// as an unknown code), else "".
func (c *fhirConcept) code(system string) string {
	if c == nil || len(c.Coding) == 0 {
		return ""
	}
	for _, cd := range c.Coding {
		if cd.System == system {
			return cd.Code
		}
	}
	return c.Coding[0].System + "|" + c.Coding[0].Code
}

func (c *fhirConcept) has(system, code string) bool {
	if c == nil {
		return false
	}
	for _, cd := range c.Coding {
		if cd.System == system && cd.Code == code {
			return true
		}
	}
	return false
}

// organisation returns the kommunenummer a reference names by identifier.
func organisation(r *fhirReference) string {
	if r == nil || r.Identifier == nil {
		return ""
	}
	if r.Identifier.System == FHIRSystemMunicipality {
		return r.Identifier.Value
	}
	return r.Identifier.System + "|" + r.Identifier.Value
}

// performerMunicipality reads Observation.performer (references) or
// Immunization.performer ({actor}).
func performerMunicipality(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var refs []struct {
		fhirReference
		Actor *fhirReference `json:"actor"`
	}
	if json.Unmarshal(raw, &refs) != nil {
		return ""
	}
	for _, r := range refs {
		ref := &r.fhirReference
		if r.Actor != nil {
			ref = r.Actor
		}
		if m := organisation(ref); m != "" {
			return m
		}
	}
	return ""
}

// date keeps the date of a FHIR date or dateTime.
func date(s string) string {
	if len(s) > 10 && s[10] == 'T' {
		return s[:10]
	}
	return s
}

func identity(ids []fhirIdentifier) string {
	for _, id := range ids {
		if id.System == FHIRSystemFNR || id.System == FHIRSystemDNumber {
			return id.Value
		}
	}
	return ""
}

// recordIDs writes "line,id" of every resource a Read goes over to the
// spool's ids-<dataset>.csv (RecordIDs).
type recordIDs struct {
	f *os.File
	w *bufio.Writer
	b []byte
}

func (s *FHIRSource) idsPath(ds Dataset) (string, error) {
	dir, err := s.workDir()
	return filepath.Join(dir, "ids-"+string(ds)+".csv"), err
}

func (ids *recordIDs) add(line int64, id string) error {
	ids.b = strconv.AppendInt(ids.b[:0], line, 10)
	ids.b = append(ids.b, ',', '"')
	for i := 0; i < len(id); i++ {
		if id[i] == '"' {
			ids.b = append(ids.b, '"')
		}
		ids.b = append(ids.b, id[i])
	}
	ids.b = append(ids.b, '"', '\n')
	_, err := ids.w.Write(ids.b)
	return err
}

func (ids *recordIDs) close() error {
	if err := ids.w.Flush(); err != nil {
		ids.f.Close()
		return err
	}
	return ids.f.Close()
}

// deletedIDs adds to ids the resources of the dataset's record type
// (Patient, Observation, Immunization, Encounter, EpisodeOfCare) that a
// change set's deleted outputs list, at line 0: no row of the pull has
// it, so their earlier rows go and nothing takes their place.
func (s *FHIRSource) deletedIDs(ctx context.Context, ds Dataset, ids *recordIDs) error {
	path := filepath.Join(s.spool, deletedOutput+".ndjson")
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		return fmt.Errorf("FHIR spool: %w", err)
	}
	defer f.Close()
	typ := typesOf(ds)[0]
	dec := json.NewDecoder(bufio.NewReaderSize(&ctxReader{ctx, f}, 1<<16))
	for line := 1; ; line++ {
		var b struct {
			ResourceType string `json:"resourceType"`
			Entry        []struct {
				Request struct {
					Method string `json:"method"`
					URL    string `json:"url"`
				} `json:"request"`
			} `json:"entry"`
		}
		if err := dec.Decode(&b); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("FHIR deleted output line %d is not a JSON Bundle: %s", line, firstSentence(err))
		}
		if b.ResourceType != "Bundle" {
			return fmt.Errorf("FHIR deleted output line %d holds %s, not a Bundle", line, orNone(b.ResourceType))
		}
		for _, e := range b.Entry {
			t, id, ok := strings.Cut(e.Request.URL, "/")
			if e.Request.Method != "DELETE" || !ok || t != typ {
				continue
			}
			if err := ids.add(0, id); err != nil {
				return fmt.Errorf("FHIR spool: %w", err)
			}
		}
	}
}

// RecordIDs implements KeyedSource: the ids file the last Read of p
// wrote. The id of a population record is its Patient's, of a GP contact
// its Encounter's.
func (s *FHIRSource) RecordIDs(_ context.Context, p Part) (string, error) {
	s.mu.Lock()
	spool := s.spool
	s.mu.Unlock()
	if spool == "" {
		return "", errors.New("FHIR source: RecordIDs before Parts")
	}
	path, err := s.idsPath(p.Dataset)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("FHIR source: record ids of %s: %w", p.Name, err)
	}
	return path, nil
}

// Read implements Source: it streams the part's spooled resources as the
// dataset's records. line is the resource's line in its output. The id of
// every resource it goes over, skipped ones included, is written for
// RecordIDs.
func (s *FHIRSource) Read(ctx context.Context, p Part, fn func(line int64, rec []string) error) error {
	s.mu.Lock()
	spool := s.spool
	s.mu.Unlock()
	if spool == "" {
		return errors.New("FHIR source: Read before Parts")
	}
	path, err := s.idsPath(p.Dataset)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("FHIR spool: %w", err)
	}
	ids := &recordIDs{f: f, w: bufio.NewWriterSize(f, 1<<16)}
	err = s.read(ctx, p, ids, fn)
	if err == nil {
		err = s.deletedIDs(ctx, p.Dataset, ids)
	}
	if cerr := ids.close(); err == nil && cerr != nil {
		err = fmt.Errorf("FHIR spool: %w", cerr)
	}
	return err
}

func (s *FHIRSource) read(ctx context.Context, p Part, ids *recordIDs, fn func(line int64, rec []string) error) error {
	rec := make([]string, len(layoutOf(p.Dataset).Header))
	emit := func(line int64, vals ...string) error {
		copy(rec, vals)
		return fn(line, rec)
	}
	// each goes over the resources of typ, recording their ids.
	each := func(typ string, fn func(line int64, r *fhirResource) error) error {
		return s.each(ctx, typ, func(line int64, r *fhirResource) error {
			if err := ids.add(line, r.ID); err != nil {
				return fmt.Errorf("FHIR spool: %w", err)
			}
			return fn(line, r)
		})
	}
	delta := s.delta
	switch p.Dataset {
	case Population:
		return each("Patient", func(line int64, r *fhirResource) error {
			fnr := identity(r.Identifier)
			sex := genderSex[r.Gender]
			if sex == "" {
				sex = r.Gender
			}
			if len(r.Address) == 0 {
				return emit(line, fnr, r.BirthDate, sex, "", "", "", "", date(r.Deceased))
			}
			for _, a := range r.Address {
				var kommune, bydel, from, to string
				for _, e := range a.Extension {
					if e.ValueCoding == nil {
						continue
					}
					v := e.ValueCoding.Code
					switch e.URL {
					case FHIRExtMunicipality:
						if e.ValueCoding.System != FHIRSystemMunicipality {
							v = e.ValueCoding.System + "|" + v
						}
						kommune = v
					case FHIRExtDistrict:
						if e.ValueCoding.System != FHIRSystemDistrict {
							v = e.ValueCoding.System + "|" + v
						}
						bydel = v
					}
				}
				if a.Period != nil {
					from, to = date(a.Period.Start), date(a.Period.End)
				}
				if err := emit(line, fnr, r.BirthDate, sex, kommune, bydel, from, to, date(r.Deceased)); err != nil {
					return err
				}
			}
			return nil
		})
	case Growth:
		pat, err := s.patientIndex(ctx)
		if err != nil {
			return err
		}
		return each("Observation", func(line int64, r *fhirResource) error {
			if r.Status == "entered-in-error" || r.Status == "cancelled" {
				s.skip("Observation")
				return nil
			}
			var height, weight string
			if r.ValueQuantity != nil && r.Code != nil {
				switch {
				case r.Code.has(FHIRSystemLOINC, loincHeight):
					height = quantity(r.ValueQuantity, "cm", "m", 100)
				case r.Code.has(FHIRSystemLOINC, loincWeight):
					weight = quantity(r.ValueQuantity, "kg", "g", 0.001)
				}
			}
			for _, c := range r.Component {
				switch {
				case c.Code.has(FHIRSystemLOINC, loincHeight):
					height = quantity(c.ValueQuantity, "cm", "m", 100)
				case c.Code.has(FHIRSystemLOINC, loincWeight):
					weight = quantity(c.ValueQuantity, "kg", "g", 0.001)
				}
			}
			check := ""
			for _, cd := range codings(r.Code) {
				if cd.System == FHIRSystemCheck {
					check = cd.Code
				}
			}
			if check == "" && height == "" && weight == "" {
				s.skip("Observation") // some other observation: not a growth check
				return nil
			}
			eff := r.Effective
			if eff == "" && r.EffectivePeriod != nil {
				eff = r.EffectivePeriod.Start
			}
			return emit(line, subject(pat, r.Subject, delta), performerMunicipality(r.Performer), check, date(eff), height, weight)
		})
	case Vaccination:
		pat, err := s.patientIndex(ctx)
		if err != nil {
			return err
		}
		return each("Immunization", func(line int64, r *fhirResource) error {
			if r.Status != "" && r.Status != "completed" {
				s.skip("Immunization") // not-done or entered-in-error: no dose given
				return nil
			}
			dose := ""
			if len(r.ProtocolApplied) > 0 {
				dose = r.ProtocolApplied[0].Dose.String()
			}
			return emit(line, subject(pat, r.Patient, delta), performerMunicipality(r.Performer), r.VaccineCode.code(FHIRSystemVaccine), dose, date(r.Occurrence))
		})
	case GPContact:
		pat, err := s.patientIndex(ctx)
		if err != nil {
			return err
		}
		diag, err := s.conditionIndex(ctx)
		if err != nil {
			return err
		}
		return each("Encounter", func(line int64, r *fhirResource) error {
			if r.Status == "cancelled" || r.Status == "entered-in-error" {
				s.skip("Encounter")
				return nil
			}
			service := ""
			if r.Class != nil {
				service = classService[r.Class.Code]
				if service == "" || r.Class.System != FHIRSystemActCode {
					service = r.Class.System + "|" + r.Class.Code
				}
			}
			kind := ""
			if len(r.Type) > 0 {
				kind = r.Type[0].code(FHIRSystemContactType)
			}
			start := ""
			if r.Period != nil {
				start = date(r.Period.Start)
			}
			return emit(line, subject(pat, r.Subject, delta), organisation(r.ServiceProvider), start, diag.of(r.ID), service, kind)
		})
	case Care:
		pat, err := s.patientIndex(ctx)
		if err != nil {
			return err
		}
		return each("EpisodeOfCare", func(line int64, r *fhirResource) error {
			if r.Status == "entered-in-error" || r.Status == "cancelled" {
				s.skip("EpisodeOfCare")
				return nil
			}
			service := ""
			if len(r.Type) > 0 {
				service = r.Type[0].code(FHIRSystemCare)
			}
			var from, to string
			if r.Period != nil {
				from, to = date(r.Period.Start), date(r.Period.End)
			}
			return emit(line, subject(pat, r.Patient, delta), organisation(r.Managing), service, from, to)
		})
	}
	return fmt.Errorf("FHIR source has no mapping for dataset %s", p.Dataset)
}

func codings(c *fhirConcept) []fhirCoding {
	if c == nil {
		return nil
	}
	return c.Coding
}

func (s *FHIRSource) skip(typ string) {
	s.mu.Lock()
	s.Skipped[typ]++
	s.mu.Unlock()
}

// quantity gives a height in cm or weight in kg as text: the value as
// sent in the wanted unit, converted from the other unit, or the value
// with its unit (which the number check refuses) in any other.
func quantity(q *fhirQuantity, unit, other string, factor float64) string {
	if q == nil || q.Value == "" {
		return ""
	}
	u := q.Code
	if u == "" {
		u = q.Unit
	}
	switch u {
	case unit:
		return q.Value.String()
	case other:
		f, err := q.Value.Float64()
		if err != nil {
			return q.Value.String()
		}
		return strconv.FormatFloat(f*factor, 'f', -1, 64)
	}
	return q.Value.String() + " " + u
}

// subject resolves a reference to a person's fødselsnummer: a logical
// reference by identifier directly, a literal Patient reference through
// the export's Patients. One that resolves to nothing gives "", and the
// record is quarantined as missing its fødselsnummer; in a change set,
// which holds only the Patients that changed, it gives
// "fhir-patient:<id>" for Pull to resolve through the person the
// source's earlier records of that Patient gave.
func subject(patients map[string]string, r *fhirReference, delta bool) string {
	if r == nil {
		return ""
	}
	if r.Identifier != nil && (r.Identifier.System == FHIRSystemFNR || r.Identifier.System == FHIRSystemDNumber) {
		return r.Identifier.Value
	}
	ref := r.Reference
	if i := strings.LastIndex(ref, "Patient/"); i >= 0 {
		id := ref[i+len("Patient/"):]
		if fnr, ok := patients[id]; ok || !delta {
			return fnr
		}
		return "fhir-patient:" + id
	}
	return ""
}

// patientIndex maps each exported Patient's id to its fødselsnummer. It
// holds one entry per Patient, the one part of a pull kept in memory
// (about 60 bytes a person).
func (s *FHIRSource) patientIndex(ctx context.Context) (map[string]string, error) {
	s.mu.Lock()
	idx := s.patients
	s.mu.Unlock()
	if idx != nil {
		return idx, nil
	}
	idx = map[string]string{}
	err := s.each(ctx, "Patient", func(_ int64, r *fhirResource) error {
		if id := identity(r.Identifier); id != "" && r.ID != "" {
			if _, dup := idx[r.ID]; !dup {
				idx[r.ID] = id
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.writePersonRefs(idx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.patients = idx
	s.mu.Unlock()
	return idx, nil
}

func (s *FHIRSource) personRefsPath() (string, error) {
	dir, err := s.workDir()
	return filepath.Join(dir, "person-refs.csv"), err
}

// writePersonRefs writes the Patient index for PersonRefs. It holds
// identity numbers like the spooled Patients it comes from, in the same
// private spool, and goes with it.
func (s *FHIRSource) writePersonRefs(idx map[string]string) error {
	path, err := s.personRefsPath()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("FHIR spool: %w", err)
	}
	ids := &recordIDs{f: f, w: bufio.NewWriterSize(f, 1<<16)}
	for id, fnr := range idx {
		ids.b = append(ids.b[:0], '"')
		for i := 0; i < len(id); i++ {
			if id[i] == '"' {
				ids.b = append(ids.b, '"')
			}
			ids.b = append(ids.b, id[i])
		}
		ids.b = append(ids.b, '"', ',', '"')
		ids.b = append(ids.b, strings.ReplaceAll(fnr, `"`, `""`)...)
		ids.b = append(ids.b, '"', '\n')
		if _, err := ids.w.Write(ids.b); err != nil {
			ids.close()
			return fmt.Errorf("FHIR spool: %w", err)
		}
	}
	if err := ids.close(); err != nil {
		return fmt.Errorf("FHIR spool: %w", err)
	}
	return nil
}

// PersonRefs implements PersonReferencing: the Patients of the export by
// id, once a Read needed them.
func (s *FHIRSource) PersonRefs(context.Context) (string, error) {
	s.mu.Lock()
	built := s.patients != nil
	s.mu.Unlock()
	if !built {
		return "", nil
	}
	return s.personRefsPath()
}

// diagnoses maps each Encounter to the code of its first Condition. It
// is the one part of a FHIR read that grows with the export (one entry
// per contact), so it is kept small: encounter ids as 64-bit hashes (a
// collision among 10 million contacts has odds of about 1 in 300 000)
// and codes interned, under 40 bytes a contact (measured).
type diagnoses struct {
	seed   maphash.Seed
	byEnc  map[uint64]uint32
	codes  []string
	lookup map[string]uint32
}

func (d *diagnoses) add(encounter, code string) {
	h := maphash.String(d.seed, encounter)
	if _, seen := d.byEnc[h]; seen {
		return
	}
	i, ok := d.lookup[code]
	if !ok {
		i = uint32(len(d.codes))
		d.codes = append(d.codes, code)
		d.lookup[code] = i
	}
	d.byEnc[h] = i
}

func (d *diagnoses) of(encounter string) string {
	if i, ok := d.byEnc[maphash.String(d.seed, encounter)]; ok {
		return d.codes[i]
	}
	return ""
}

// conditionIndex reads the Conditions into diagnoses: the ICPC-2 code of
// each Encounter's first Condition, or "system|code" of one coded
// otherwise.
func (s *FHIRSource) conditionIndex(ctx context.Context) (*diagnoses, error) {
	s.mu.Lock()
	idx := s.encICPC
	s.mu.Unlock()
	if idx != nil {
		return idx, nil
	}
	idx = &diagnoses{seed: maphash.MakeSeed(), byEnc: map[uint64]uint32{}, lookup: map[string]uint32{}}
	err := s.each(ctx, "Condition", func(_ int64, r *fhirResource) error {
		if r.VerificationState.has("http://terminology.hl7.org/CodeSystem/condition-ver-status", "entered-in-error") {
			s.skip("Condition")
			return nil
		}
		ref := ""
		if r.Encounter != nil {
			ref = r.Encounter.Reference
		}
		i := strings.LastIndex(ref, "Encounter/")
		if i < 0 {
			s.skip("Condition") // not from a contact
			return nil
		}
		idx.add(ref[i+len("Encounter/"):], r.Code.code(FHIRSystemICPC2))
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.encICPC = idx
	s.mu.Unlock()
	return idx, nil
}

// each decodes the spooled resources of typ in file order. A line that
// is not a JSON resource of that type means the export is broken, not one
// record: the read stops naming the output, the line and, when it can,
// the resource. Lines are decoded in batches on every core (decoding is
// nearly all of a FHIR read); fn is called on the caller's goroutine, in
// order.
func (s *FHIRSource) each(ctx context.Context, typ string, fn func(line int64, r *fhirResource) error) error {
	s.mu.Lock()
	spool := s.spool
	s.mu.Unlock()
	if spool == "" {
		return errors.New("FHIR source: Read before Parts")
	}
	f, err := os.Open(filepath.Join(spool, typ+".ndjson"))
	if err != nil {
		return fmt.Errorf("FHIR spool: %w", err)
	}
	defer f.Close()
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	// Stop the reader and workers before waiting for them, however the
	// read ends.
	defer wg.Wait()
	defer cancel()

	workers := max(runtime.GOMAXPROCS(0), 1)
	jobs := make(chan *ndjsonBatch, workers)
	order := make(chan *ndjsonBatch, 2*workers)
	var readErr error
	go func() {
		defer close(order)
		defer close(jobs)
		readErr = splitLines(ctx, f, typ, func(b *ndjsonBatch) bool {
			select {
			case order <- b:
			case <-ctx.Done():
				return false
			}
			select {
			case jobs <- b:
				return true
			case <-ctx.Done():
				return false
			}
		})
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range jobs {
				b.decode(typ)
				close(b.done)
			}
		}()
	}
	for b := range order {
		select {
		case <-b.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		for i := range b.res {
			if b.errs[i] != nil {
				return b.errs[i]
			}
			if b.res[i].ResourceType == "" {
				continue // a blank line
			}
			if err := fn(b.lines[i], &b.res[i]); err != nil {
				return err
			}
		}
	}
	if readErr != nil {
		return readErr
	}
	return ctx.Err()
}

// ndjsonBatch is a run of lines decoded together.
type ndjsonBatch struct {
	data  []byte
	ends  []int // end offset of each line in data
	lines []int64
	res   []fhirResource
	errs  []error
	done  chan struct{}
}

const batchLines = 256

// splitLines cuts the file into batches of whole lines.
func splitLines(ctx context.Context, r io.Reader, typ string, send func(*ndjsonBatch) bool) error {
	br := bufio.NewReaderSize(&ctxReader{ctx, r}, 1<<20)
	b := &ndjsonBatch{done: make(chan struct{})}
	for line := int64(1); ; line++ {
		start := len(b.data)
		var err error
		for {
			var chunk []byte
			chunk, err = br.ReadSlice('\n')
			b.data = append(b.data, chunk...)
			if err == bufio.ErrBufferFull {
				if len(b.data)-start > 64<<20 {
					return fmt.Errorf("FHIR output %s line %d is longer than 64 MiB", typ, line)
				}
				continue
			}
			break
		}
		if err != nil && err != io.EOF {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("FHIR spool %s: %w", typ, err)
		}
		if len(b.data) > start {
			b.ends = append(b.ends, len(b.data))
			b.lines = append(b.lines, line)
		}
		if len(b.ends) == batchLines || (err == io.EOF && len(b.ends) > 0) {
			if !send(b) {
				return ctx.Err()
			}
			b = &ndjsonBatch{done: make(chan struct{})}
		}
		if err == io.EOF {
			return nil
		}
	}
}

func (b *ndjsonBatch) decode(typ string) {
	b.res = make([]fhirResource, len(b.ends))
	b.errs = make([]error, len(b.ends))
	start := 0
	for i, end := range b.ends {
		raw := b.data[start:end]
		start = end
		text := bytes.TrimSpace(raw)
		if len(text) == 0 {
			continue
		}
		r := &b.res[i]
		if err := json.Unmarshal(text, r); err != nil {
			what := "is not a JSON resource"
			var se *json.SyntaxError
			if errors.As(err, &se) && raw[len(raw)-1] != '\n' {
				what = "is truncated (half a resource)"
			} else if errors.As(err, &se) {
				what = "is not valid JSON (a truncated or damaged line)"
			}
			name := ""
			if r.ResourceType != "" {
				name = " (" + r.ResourceType + "/" + r.ID + ")"
			}
			// The decoder may quote a value; an identity number must not
			// reach the message.
			b.errs[i] = fmt.Errorf("FHIR output %s line %d %s%s: %s", typ, b.lines[i], what, name, firstSentence(err))
			continue
		}
		if r.ResourceType != typ {
			b.errs[i] = fmt.Errorf("FHIR output %s line %d holds %s, not a %s resource", typ, b.lines[i], orNone(r.ResourceType+"/"+r.ID), typ)
		}
	}
}
