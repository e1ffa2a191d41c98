package catalog

import (
	"encoding/json"
	"testing"

	"github.com/kunnskapskommunen/folkekommune/policies"
)

// TestCatalogueAndPolicyAgree: every dataset and dimension a request can
// name is one the policy has rules for, so no request escapes the policy
// by naming something it does not know.
func TestCatalogueAndPolicyAgree(t *testing.T) {
	b, err := policies.Embedded.ReadFile("data.json")
	if err != nil {
		t.Fatal(err)
	}
	var data struct {
		Folkekommune struct {
			Config struct {
				Datasets map[string]struct {
					Dimensions []string `json:"dimensions"`
				} `json:"datasets"`
			} `json:"config"`
		} `json:"folkekommune"`
	}
	if err := json.Unmarshal(b, &data); err != nil {
		t.Fatal(err)
	}
	for _, d := range Datasets {
		pd, ok := data.Folkekommune.Config.Datasets[d.ID]
		if !ok {
			t.Errorf("dataset %s is not in the policy", d.ID)
			continue
		}
		known := map[string]bool{}
		for _, x := range pd.Dimensions {
			known[x] = true
		}
		for _, dim := range d.Dimensions {
			if !known[dim] {
				t.Errorf("dataset %s: dimension %s is not in the policy", d.ID, dim)
			}
			if _, ok := DimensionByID(dim); !ok {
				t.Errorf("dataset %s: dimension %s is not in the catalogue", d.ID, dim)
			}
		}
	}
}

func TestCodeListsAreHierarchiesWithOneTotal(t *testing.T) {
	for _, id := range DimensionIDs() {
		d, _ := DimensionByID(id)
		if id == "year" {
			continue
		}
		codes := d.Codes()
		roots := 0
		for _, c := range d.Categories {
			if c.Parent == "" {
				roots++
			} else if !codes[c.Parent] {
				t.Errorf("%s: %s has unknown parent %s", id, c.Code, c.Parent)
			}
		}
		if roots != 1 || d.Categories[0].Code != Total {
			t.Errorf("%s: %d roots, first %s; want the total _T first and alone", id, roots, d.Categories[0].Code)
		}
	}
	d, _ := DimensionByID("district")
	children := 0
	for _, c := range d.Categories {
		if c.Parent == BergenCode {
			children++
		}
	}
	if children != len(Districts)+1 {
		t.Errorf("Bergen has %d children, want its %d districts and the unknown one", children, len(Districts))
	}
}

func TestAgeBandsCoverEveryAgeOnce(t *testing.T) {
	for id, bands := range AgeBands {
		for age := 0; age <= 120; age++ {
			n := 0
			for _, b := range bands {
				if age >= b.Min && (b.Max < 0 || age <= b.Max) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%s: age %d falls in %d bands", id, age, n)
			}
		}
	}
}
