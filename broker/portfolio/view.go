package portfolio

// MayViewPeople reports whether a may see a project's people (with their
// e-mail addresses) and members, not only its Public view: an admin or
// the privacy officer always, an R&D contact for projects that concern
// their municipality, a researcher for projects they are a member of. The
// API and the pages both show a project through this one rule.
func MayViewPeople(a Actor, p *Project) bool {
	switch a.Role {
	case RoleAdmin, RolePrivacyOfficer:
		return true
	case RoleRDContact:
		return a.Municipality != "" && p.Concerns(a.Municipality)
	case RoleResearcher:
		return p.HasMember(a.ID)
	}
	return false
}
