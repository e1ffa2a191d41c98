package portfolio

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// Roles of the broker's users.
const (
	RoleResearcher     = "researcher"
	RoleCoordinator    = "coordinator"
	RolePrivacyOfficer = "privacy_officer"
	RoleRDContact      = "fou_contact"
	RoleAdmin          = "admin"
)

// Actor is who asks for a change: a broker user with one role, tied to a
// municipality for R&D contacts and coordinators. A public submitter without
// an account acts as a researcher identified by their e-mail address.
type Actor struct {
	ID           string `json:"id"`
	Role         string `json:"role"`
	Municipality string `json:"municipality,omitempty"`
}

// System is the broker acting on its own (reminders, retention).
var System = Actor{ID: "system", Role: RoleAdmin}

// Scope narrows a role's grant to some of the objects.
type Scope string

const (
	// Any object.
	ScopeAny Scope = "any"
	// Objects that concern the actor's municipality.
	ScopeMunicipality Scope = "municipality"
	// Objects the actor owns or is a member of.
	ScopeOwn Scope = "own"
)

// Grant lets a role act, within a scope.
type Grant struct {
	Role  string `json:"role"`
	Scope Scope  `json:"scope"`
}

// Transition is one row of a workflow's transition table: from which states
// an action leads to which state, who may take it, the audit event it writes
// and whom it notifies.
type Transition struct {
	Action string   `json:"action"`
	From   []string `json:"from"`
	To     string   `json:"to"`
	Grants []Grant  `json:"grants"`
	Audit  string   `json:"audit"`  // audit event kind
	Notify string   `json:"notify"` // recipient group, "" for none
}

// Workflow is a named transition table.
type Workflow struct {
	Name        string       `json:"name"`
	Transitions []Transition `json:"transitions"`
}

// Relation is how an actor stands to the object a transition acts on.
type Relation struct {
	Municipality bool // the object concerns the actor's municipality
	Own          bool // the actor owns the object or is a member of it
}

// Step finds the transition for action from state and checks that actor,
// standing in relation rel to the object, may take it. The error names the
// action, the state and the role, in one sentence.
func (w Workflow) Step(action, from string, actor Actor, rel Relation) (Transition, error) {
	var found *Transition
	for i := range w.Transitions {
		if w.Transitions[i].Action == action {
			found = &w.Transitions[i]
			if slices.Contains(found.From, from) {
				break
			}
		}
	}
	if found == nil {
		return Transition{}, &InputError{Field: "action", Problem: fmt.Sprintf("%q is not an action of the %s workflow", action, w.Name)}
	}
	if !slices.Contains(found.From, from) {
		return Transition{}, &StateError{Workflow: w.Name, Action: action, From: from}
	}
	for _, g := range found.Grants {
		if g.Role != actor.Role {
			continue
		}
		switch g.Scope {
		case ScopeAny:
			return *found, nil
		case ScopeMunicipality:
			if rel.Municipality && actor.Municipality != "" {
				return *found, nil
			}
		case ScopeOwn:
			if rel.Own {
				return *found, nil
			}
		}
	}
	return Transition{}, &ForbiddenError{Actor: actor, Action: action, Object: w.Name}
}

// Actions lists what actor may do from state, for showing buttons.
func (w Workflow) Actions(from string, actor Actor, rel Relation) []string {
	var out []string
	for _, t := range w.Transitions {
		if _, err := w.Step(t.Action, from, actor, rel); err == nil && slices.Contains(t.From, from) {
			out = append(out, t.Action)
		}
	}
	return out
}

var (
	adminAny       = Grant{RoleAdmin, ScopeAny}
	contactMuni    = Grant{RoleRDContact, ScopeMunicipality}
	researcherOwn  = Grant{RoleResearcher, ScopeOwn}
	privacyOfficer = Grant{RolePrivacyOfficer, ScopeAny}
)

// ProjectWorkflow is the project status workflow.
var ProjectWorkflow = Workflow{Name: "project", Transitions: []Transition{
	{Action: "apply", From: []string{"planned"}, To: "applied", Grants: []Grant{adminAny, contactMuni, researcherOwn}, Audit: "project.update", Notify: "advisers"},
	{Action: "start", From: []string{"planned"}, To: "active", Grants: []Grant{adminAny, contactMuni}, Audit: "project.update", Notify: "project"},
	{Action: "grant", From: []string{"applied"}, To: "active", Grants: []Grant{adminAny, contactMuni}, Audit: "project.update", Notify: "project"},
	{Action: "reject", From: []string{"applied"}, To: "rejected", Grants: []Grant{adminAny, contactMuni}, Audit: "project.update", Notify: "project"},
	{Action: "replan", From: []string{"rejected"}, To: "planned", Grants: []Grant{adminAny, contactMuni, researcherOwn}, Audit: "project.update"},
	{Action: "complete", From: []string{"active"}, To: "completed", Grants: []Grant{adminAny, contactMuni, researcherOwn}, Audit: "project.update", Notify: "advisers"},
}}

// AccessWorkflow is the workflow of a project's approval to request data
// from the broker, which the policies read.
var AccessWorkflow = Workflow{Name: "data access", Transitions: []Transition{
	{Action: "request_access", From: []string{"none", "refused", "revoked"}, To: "requested", Grants: []Grant{adminAny, researcherOwn}, Audit: "approval", Notify: "privacy_officer"},
	{Action: "approve_access", From: []string{"requested"}, To: "approved", Grants: []Grant{adminAny, privacyOfficer}, Audit: "approval", Notify: "project"},
	{Action: "refuse_access", From: []string{"requested"}, To: "refused", Grants: []Grant{adminAny, privacyOfficer}, Audit: "approval", Notify: "project"},
	{Action: "revoke_access", From: []string{"approved"}, To: "revoked", Grants: []Grant{adminAny, privacyOfficer}, Audit: "approval", Notify: "project"},
}}

// InputError is bad input, naming the field.
type InputError struct {
	Field   string
	Problem string
}

func (e *InputError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Problem) }

// StateError is an action the object's current state does not allow.
type StateError struct {
	Workflow, Action, From string
}

func (e *StateError) Error() string {
	return fmt.Sprintf("%s: action %q is not allowed while the status is %q", e.Workflow, e.Action, e.From)
}

// ForbiddenError is an action the actor's role does not allow.
type ForbiddenError struct {
	Actor  Actor
	Action string
	Object string
}

func (e *ForbiddenError) Error() string {
	return fmt.Sprintf("%s: role %q may not %s here", e.Object, e.Actor.Role, e.Action)
}

// NotFoundError is an object that does not exist.
type NotFoundError struct {
	Kind string
	ID   int64
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("%s %d does not exist", e.Kind, e.ID) }

// AuditRef is how actor is named in the audit log. An actor known by an
// e-mail address (a researcher without an account) is named by a hash of
// it, so that erasing the person never needs an edit of the append-only
// log, and the log never holds the address.
func AuditRef(a Actor) string {
	if strings.Contains(a.ID, "@") {
		return EmailRef(a.ID)
	}
	return a.ID
}

// EmailRef is the pseudonymous reference for an e-mail address: the first
// 16 hex digits of SHA-256 over the lower-cased address.
func EmailRef(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return "email:" + hex.EncodeToString(sum[:8])
}

// Markdown renders the transition table for the documentation.
func (w Workflow) Markdown() string {
	var b strings.Builder
	b.WriteString("| action | from | to | who may | audit event | notifies |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, t := range w.Transitions {
		var who []string
		for _, g := range t.Grants {
			s := g.Role
			if g.Scope != ScopeAny {
				s += " (" + string(g.Scope) + ")"
			}
			who = append(who, s)
		}
		notify := t.Notify
		if notify == "" {
			notify = "—"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", t.Action, strings.Join(t.From, ", "), t.To, strings.Join(who, ", "), t.Audit, notify)
	}
	return b.String()
}
