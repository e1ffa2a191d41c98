package synth

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Code systems and extensions the synthetic FHIR export uses. The broker's
// FHIR connector (extract.FHIRSource) reads the same ones; a round-trip
// test pins the two together.
const (
	FHIRSystemFNR          = "urn:oid:2.16.578.1.12.4.1.4.1"    // fødselsnummer
	FHIRSystemMunicipality = "urn:oid:2.16.578.1.12.4.1.1.3402" // kommunenummer
	FHIRSystemDistrict     = "urn:oid:2.16.578.1.12.4.1.1.3403" // bydelsnummer
	FHIRSystemICPC2        = "urn:oid:2.16.578.1.12.4.1.1.7170"
	FHIRSystemLOINC        = "http://loinc.org"
	FHIRSystemUCUM         = "http://unitsofmeasure.org"
	FHIRSystemActCode      = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
	FHIRSystemCheck        = "urn:folkekommune:kodeverk:helsestasjon-kontroll"
	FHIRSystemVaccine      = "urn:folkekommune:kodeverk:vaksine"
	FHIRSystemContactType  = "urn:folkekommune:kodeverk:kontakttype"
	FHIRSystemCare         = "urn:folkekommune:kodeverk:iplos-tjeneste"
	FHIRExtMunicipality    = "http://hl7.no/fhir/StructureDefinition/no-basis-municipalitycode"
	FHIRExtDistrict        = "http://hl7.no/fhir/StructureDefinition/no-basis-urban-district"
)

// FHIRTypes are the resource types WriteFHIR writes, one NDJSON file each
// (Type.ndjson).
var FHIRTypes = []string{"Patient", "Observation", "Immunization", "Encounter", "Condition", "EpisodeOfCare"}

// The subset of FHIR R4 the export writes. Only what the datasets carry.
type (
	fCoding struct {
		System string `json:"system,omitempty"`
		Code   string `json:"code,omitempty"`
		Unit   string `json:"display,omitempty"`
	}
	fConcept struct {
		Coding []fCoding `json:"coding,omitempty"`
	}
	fIdentifier struct {
		System string `json:"system"`
		Value  string `json:"value"`
	}
	fReference struct {
		Reference  string       `json:"reference,omitempty"`
		Identifier *fIdentifier `json:"identifier,omitempty"`
	}
	fPeriod struct {
		Start string `json:"start,omitempty"`
		End   string `json:"end,omitempty"`
	}
	fExtension struct {
		URL         string   `json:"url"`
		ValueCoding *fCoding `json:"valueCoding,omitempty"`
	}
	fAddress struct {
		Extension []fExtension `json:"extension,omitempty"`
		Use       string       `json:"use,omitempty"`
		Period    *fPeriod     `json:"period,omitempty"`
	}
	fQuantity struct {
		Value  json.Number `json:"value"`
		Unit   string      `json:"unit"`
		System string      `json:"system"`
		Code   string      `json:"code"`
	}
	fComponent struct {
		Code          fConcept  `json:"code"`
		ValueQuantity fQuantity `json:"valueQuantity"`
	}
	fMeta struct {
		LastUpdated string `json:"lastUpdated"`
	}
	fResource struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
		Meta         fMeta  `json:"meta"`
		Status       string `json:"status,omitempty"`
		// Patient
		Identifier      []fIdentifier `json:"identifier,omitempty"`
		Gender          string        `json:"gender,omitempty"`
		BirthDate       string        `json:"birthDate,omitempty"`
		DeceasedDate    string        `json:"deceasedDateTime,omitempty"`
		Address         []fAddress    `json:"address,omitempty"`
		Class           *fCoding      `json:"class,omitempty"`
		Type            []fConcept    `json:"type,omitempty"`
		Code            *fConcept     `json:"code,omitempty"`
		VaccineCode     *fConcept     `json:"vaccineCode,omitempty"`
		Subject         *fReference   `json:"subject,omitempty"`
		Patient         *fReference   `json:"patient,omitempty"`
		Encounter       *fReference   `json:"encounter,omitempty"`
		Effective       string        `json:"effectiveDateTime,omitempty"`
		Occurrence      string        `json:"occurrenceDateTime,omitempty"`
		Period          *fPeriod      `json:"period,omitempty"`
		Component       []fComponent  `json:"component,omitempty"`
		Performer       []fReference  `json:"performer,omitempty"`
		ServiceProvider *fReference   `json:"serviceProvider,omitempty"`
		Managing        *fReference   `json:"managingOrganization,omitempty"`
		Protocol        []fProtocol   `json:"protocolApplied,omitempty"`
	}
	fActor struct {
		Actor fReference `json:"actor"`
	}
	fProtocol struct {
		Dose json.Number `json:"doseNumberPositiveInt,omitempty"`
	}
)

// immunization writes performer as [{actor: ...}], as FHIR R4 has it.
type fImmunization struct {
	fResource
	Performer []fActor `json:"performer,omitempty"`
}

func municipalityRef(code string) *fReference {
	if code == "" {
		return nil
	}
	return &fReference{Identifier: &fIdentifier{System: FHIRSystemMunicipality, Value: code}}
}

func coded(system, code string) *fConcept {
	if code == "" {
		return nil
	}
	return &fConcept{Coding: []fCoding{{System: system, Code: code}}}
}

// fhirWriter turns a file drop into NDJSON, one file per resource type.
type fhirWriter struct {
	out     map[string]*bufio.Writer
	files   map[string]*os.File
	n       map[string]int
	updated string
	patient map[string]string // fødselsnummer → id of its first Patient
}

func (w *fhirWriter) emit(typ string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	bw := w.out[typ]
	bw.Write(b)
	return bw.WriteByte('\n')
}

func (w *fhirWriter) nextID(typ string) string {
	w.n[typ]++
	return strings.ToLower(typ[:3]) + strconv.Itoa(w.n[typ])
}

// subject refers to the person's Patient, or by identifier when the
// export holds no Patient with that number (a broken row's altered
// number), as a FHIR logical reference.
func (w *fhirWriter) subject(fnr string) *fReference {
	if fnr == "" {
		return nil
	}
	if id, ok := w.patient[fnr]; ok {
		return &fReference{Reference: "Patient/" + id}
	}
	return &fReference{Identifier: &fIdentifier{System: FHIRSystemFNR, Value: fnr}}
}

// WriteFHIR converts the CSV file drop in dropDir into FHIR R4 resources,
// one NDJSON file per type of FHIRTypes in outDir, the way a clinical
// system's Bulk Data export would hand over the same records: one Patient
// per person with the residence history as addresses with periods, one
// Observation per growth check (height and weight as LOINC components),
// one Immunization per dose, an Encounter and its ICPC-2 Condition per GP
// contact, and an EpisodeOfCare per care decision. Every value of the
// drop, broken ones included, is carried over, so that pulling the export
// gives the file drop's records back. updated is every resource's
// meta.lastUpdated.
func WriteFHIR(ctx context.Context, dropDir, outDir, updated string) error {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", outDir, err)
	}
	w := &fhirWriter{out: map[string]*bufio.Writer{}, files: map[string]*os.File{}, n: map[string]int{}, updated: updated, patient: map[string]string{}}
	for _, t := range FHIRTypes {
		f, err := os.Create(filepath.Join(outDir, t+".ndjson"))
		if err != nil {
			return fmt.Errorf("create %s output: %w", t, err)
		}
		defer f.Close()
		w.files[t] = f
		w.out[t] = bufio.NewWriterSize(f, 1<<20)
	}
	steps := []struct {
		file string
		fn   func([]string) error
	}{
		{FilePopulation, nil}, // patients are grouped first, below
		{FileGrowth, w.growth},
		{FileVaccination, w.vaccination},
		{FileContacts, w.contact},
		{FileCare, w.care},
	}
	if err := w.patients(ctx, dropDir); err != nil {
		return err
	}
	for _, s := range steps[1:] {
		if err := eachRow(ctx, filepath.Join(dropDir, s.file+".csv"), s.fn); err != nil {
			return err
		}
	}
	for _, t := range FHIRTypes {
		if err := w.out[t].Flush(); err != nil {
			return fmt.Errorf("write %s output: %w", t, err)
		}
		if err := w.files[t].Close(); err != nil {
			return fmt.Errorf("write %s output: %w", t, err)
		}
	}
	return nil
}

func eachRow(ctx context.Context, path string, fn func([]string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read file drop: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
	r.ReuseRecord = true
	if _, err := r.Read(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	for i := 0; ; i++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		if i%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := fn(rec); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
}

// patients groups the population rows into Patients: rows of the same
// person that agree on birth date, sex and death are one Patient's
// addresses; a row that disagrees (a broken one) or repeats an address
// exactly (a duplicated one) becomes another Patient record with the same
// identifier, as duplicate records in a source system would.
func (w *fhirWriter) patients(ctx context.Context, dropDir string) error {
	type patient struct{ res fResource }
	var all []*patient
	open := map[[4]string][]*patient{}
	addrKey := func(a fAddress) string { b, _ := json.Marshal(a); return string(b) }
	seen := map[*patient]map[string]bool{}
	err := eachRow(ctx, filepath.Join(dropDir, FilePopulation+".csv"), func(rec []string) error {
		key := [4]string{rec[0], rec[1], rec[2], rec[7]}
		a := fAddress{Use: "home", Period: &fPeriod{Start: rec[5], End: rec[6]}}
		if rec[3] != "" {
			a.Extension = append(a.Extension, fExtension{URL: FHIRExtMunicipality, ValueCoding: &fCoding{System: FHIRSystemMunicipality, Code: rec[3]}})
		}
		if rec[4] != "" {
			a.Extension = append(a.Extension, fExtension{URL: FHIRExtDistrict, ValueCoding: &fCoding{System: FHIRSystemDistrict, Code: rec[4]}})
		}
		if a.Period.Start == "" && a.Period.End == "" {
			a.Period = nil
		}
		ak := addrKey(a)
		var p *patient
		for _, c := range open[key] {
			if !seen[c][ak] {
				p = c
				break
			}
		}
		if p == nil {
			p = &patient{}
			p.res = fResource{ResourceType: "Patient", ID: w.nextID("Patient"), Meta: fMeta{w.updated},
				BirthDate: rec[1], Gender: map[string]string{"M": "male", "K": "female"}[rec[2]], DeceasedDate: rec[7]}
			if rec[2] != "" && p.res.Gender == "" {
				p.res.Gender = rec[2]
			}
			if rec[0] != "" {
				p.res.Identifier = []fIdentifier{{System: FHIRSystemFNR, Value: rec[0]}}
				if _, ok := w.patient[rec[0]]; !ok {
					w.patient[rec[0]] = p.res.ID
				}
			}
			open[key] = append(open[key], p)
			seen[p] = map[string]bool{}
			all = append(all, p)
		}
		seen[p][ak] = true
		p.res.Address = append(p.res.Address, a)
		return nil
	})
	if err != nil {
		return err
	}
	for _, p := range all {
		if err := w.emit("Patient", p.res); err != nil {
			return err
		}
	}
	return nil
}

func number(s string) json.Number {
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return ""
	}
	return json.Number(s)
}

func (w *fhirWriter) growth(rec []string) error {
	// fodselsnummer, kommunenummer, kontroll, maledato, hoyde_cm, vekt_kg
	o := fResource{ResourceType: "Observation", ID: w.nextID("Observation"), Meta: fMeta{w.updated}, Status: "final",
		Code: coded(FHIRSystemCheck, rec[2]), Subject: w.subject(rec[0]), Effective: rec[3]}
	if o.Code == nil {
		o.Code = &fConcept{}
	}
	if p := municipalityRef(rec[1]); p != nil {
		o.Performer = []fReference{*p}
	}
	if v := number(rec[4]); v != "" {
		o.Component = append(o.Component, fComponent{Code: *coded(FHIRSystemLOINC, "8302-2"),
			ValueQuantity: fQuantity{Value: v, Unit: "cm", System: FHIRSystemUCUM, Code: "cm"}})
	}
	if v := number(rec[5]); v != "" {
		o.Component = append(o.Component, fComponent{Code: *coded(FHIRSystemLOINC, "29463-7"),
			ValueQuantity: fQuantity{Value: v, Unit: "kg", System: FHIRSystemUCUM, Code: "kg"}})
	}
	return w.emit("Observation", o)
}

func (w *fhirWriter) vaccination(rec []string) error {
	// fodselsnummer, kommunenummer, vaksine, dose, vaksinasjonsdato
	im := fImmunization{fResource: fResource{ResourceType: "Immunization", ID: w.nextID("Immunization"), Meta: fMeta{w.updated},
		Status: "completed", VaccineCode: coded(FHIRSystemVaccine, rec[2]), Patient: w.subject(rec[0]), Occurrence: rec[4]}}
	if d := number(rec[3]); d != "" {
		im.Protocol = []fProtocol{{Dose: d}}
	}
	if p := municipalityRef(rec[1]); p != nil {
		im.Performer = []fActor{{Actor: *p}}
	}
	return w.emit("Immunization", im)
}

var serviceClass = map[string]string{"fastlege": "AMB", "legevakt": "EMER"}

func (w *fhirWriter) contact(rec []string) error {
	// fodselsnummer, kommunenummer, kontaktdato, icpc2, tjeneste, kontakttype
	e := fResource{ResourceType: "Encounter", ID: w.nextID("Encounter"), Meta: fMeta{w.updated}, Status: "finished",
		Subject: w.subject(rec[0]), ServiceProvider: municipalityRef(rec[1])}
	if rec[4] != "" {
		c, ok := serviceClass[rec[4]]
		sys := FHIRSystemActCode
		if !ok {
			c, sys = rec[4], "urn:folkekommune:kodeverk:tjeneste"
		}
		e.Class = &fCoding{System: sys, Code: c}
	}
	if t := coded(FHIRSystemContactType, rec[5]); t != nil {
		e.Type = []fConcept{*t}
	}
	if rec[2] != "" {
		e.Period = &fPeriod{Start: rec[2]}
	}
	if err := w.emit("Encounter", e); err != nil {
		return err
	}
	if rec[3] == "" {
		return nil
	}
	c := fResource{ResourceType: "Condition", ID: w.nextID("Condition"), Meta: fMeta{w.updated},
		Code: coded(FHIRSystemICPC2, rec[3]), Subject: w.subject(rec[0]), Encounter: &fReference{Reference: "Encounter/" + e.ID}}
	return w.emit("Condition", c)
}

func (w *fhirWriter) care(rec []string) error {
	// fodselsnummer, kommunenummer, tjeneste, vedtak_fra, vedtak_til
	e := fResource{ResourceType: "EpisodeOfCare", ID: w.nextID("EpisodeOfCare"), Meta: fMeta{w.updated}, Status: "finished",
		Patient: w.subject(rec[0]), Managing: municipalityRef(rec[1])}
	if t := coded(FHIRSystemCare, rec[2]); t != nil {
		e.Type = []fConcept{*t}
	}
	if rec[3] != "" || rec[4] != "" {
		e.Period = &fPeriod{Start: rec[3], End: rec[4]}
	}
	if rec[4] == "" {
		e.Status = "active"
	}
	return w.emit("EpisodeOfCare", e)
}
