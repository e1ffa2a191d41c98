package requests

import (
	"errors"
	"testing"
)

func TestTransitionTableIsTheOnlyWayToMove(t *testing.T) {
	for _, tc := range []struct {
		action, from, to, by string
		want                 error
	}{
		{ActionAllow, StateNew, StateApproved, BySystem, nil},
		{ActionReview, StateNew, StateReview, BySystem, nil},
		{ActionDeny, StateNew, StateDenied, BySystem, nil},
		{ActionApprove, StateReview, StateApproved, ByPrivacyOfficer, nil},
		{ActionApprove, StateReview, StateReview, ByPrivacyOfficer, nil},
		{ActionReject, StateReview, StateRejected, ByPrivacyOfficer, nil},
		{ActionRelease, StateApproved, StateReleased, BySystem, nil},
		{ActionFail, StateApproved, StateFailed, BySystem, nil},
		// The system does not approve, nor the privacy officer release.
		{ActionApprove, StateReview, StateApproved, BySystem, ErrForbidden},
		{ActionRelease, StateApproved, StateReleased, ByPrivacyOfficer, ErrForbidden},
		// Finished requests stay finished.
		{ActionApprove, StateReleased, StateApproved, ByPrivacyOfficer, ErrState},
		{ActionApprove, StateDenied, StateApproved, ByPrivacyOfficer, ErrState},
		{ActionReject, StateRejected, StateRejected, ByPrivacyOfficer, ErrState},
		{ActionRelease, StateReview, StateReleased, BySystem, ErrState},
	} {
		_, err := transition(tc.action, tc.from, tc.to, tc.by)
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s %s→%s by %s: %v, want %v", tc.action, stateName(tc.from), tc.to, tc.by, err, tc.want)
		}
	}
}

func TestEveryStoredStateIsReachableAndFinalStatesAreFinal(t *testing.T) {
	reach := map[string]bool{StateNew: true}
	for changed := true; changed; {
		changed = false
		for _, tr := range Transitions {
			if reach[tr.From] && !reach[tr.To] {
				reach[tr.To], changed = true, true
			}
		}
	}
	for _, s := range []string{StateReview, StateApproved, StateReleased, StateDenied, StateRejected, StateFailed} {
		if !reach[s] {
			t.Errorf("state %s cannot be reached", s)
		}
	}
	for _, final := range []string{StateReleased, StateDenied, StateRejected, StateFailed} {
		for _, a := range []string{ActionAllow, ActionReview, ActionDeny, ActionApprove, ActionReject, ActionRelease, ActionFail} {
			if mayAct(a, final) {
				t.Errorf("%s can be taken from the final state %s", a, final)
			}
		}
	}
	for _, tr := range Transitions {
		if tr.Audit == "" {
			t.Errorf("%s %s→%s writes no audit event", tr.Action, stateName(tr.From), tr.To)
		}
	}
}
