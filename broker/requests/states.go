package requests

import "fmt"

// States of a request.
const (
	StateNew      = ""         // not yet stored: being validated and decided
	StateReview   = "review"   // waiting for the privacy officer
	StateApproved = "approved" // approved; its release is being made (never stored)
	StateReleased = "released" // its release exists
	StateDenied   = "denied"   // the policy refused it
	StateRejected = "rejected" // the privacy officer refused it
	StateFailed   = "failed"   // allowed, but no protected table could be made
)

// Actions that move a request.
const (
	ActionAllow   = "allow"   // the policy allows: the release is made at once
	ActionReview  = "review"  // the policy asks for manual review
	ActionDeny    = "deny"    // the policy denies
	ActionApprove = "approve" // a privacy officer approves (partially, when more approvals are needed)
	ActionReject  = "reject"  // a privacy officer rejects
	ActionRelease = "release" // the approved table is protected and released
	ActionFail    = "fail"    // the table could not be protected
)

// Who may take an action.
const (
	BySystem         = "system"          // the broker, following the policy's decision
	ByPrivacyOfficer = "privacy_officer" // a privacy officer other than the requester
)

// Transition is one row of the request workflow: an action moves a
// request from one state to another, taken by whom, writing which audit
// event.
type Transition struct {
	Action string `json:"action"`
	From   string `json:"from"`
	To     string `json:"to"`
	By     string `json:"by"`
	Audit  string `json:"audit"`
}

// Transitions is the request workflow, the one place that says who may
// move a request from which state to which.
var Transitions = []Transition{
	{ActionAllow, StateNew, StateApproved, BySystem, "request.allowed"},
	{ActionReview, StateNew, StateReview, BySystem, "request.review"},
	{ActionDeny, StateNew, StateDenied, BySystem, "request.denied"},
	{ActionApprove, StateReview, StateReview, ByPrivacyOfficer, "approval"}, // more approvals needed
	{ActionApprove, StateReview, StateApproved, ByPrivacyOfficer, "approval"},
	{ActionReject, StateReview, StateRejected, ByPrivacyOfficer, "approval"},
	{ActionRelease, StateApproved, StateReleased, BySystem, "release"},
	{ActionFail, StateApproved, StateFailed, BySystem, "request.failed"},
}

// transition finds the row that moves a request in state from by action
// to state to, and checks that by may take it.
func transition(action, from, to, by string) (Transition, error) {
	for _, t := range Transitions {
		if t.Action == action && t.From == from && t.To == to {
			if t.By != by {
				return t, fmt.Errorf("%w: %s may not %s a request", ErrForbidden, by, action)
			}
			return t, nil
		}
	}
	return Transition{}, fmt.Errorf("%w: cannot %s a request that is %s", ErrState, action, stateName(from))
}

// mayAct reports whether some row lets action start from state.
func mayAct(action, from string) bool {
	for _, t := range Transitions {
		if t.Action == action && t.From == from {
			return true
		}
	}
	return false
}

func stateName(s string) string {
	if s == "" {
		return "new"
	}
	return s
}
