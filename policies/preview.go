package policies

import "context"

// Preview takes the decision Decide would take on in, but records nothing:
// a requester's look at the decision before sending a request (the web
// form's preview). Like WhatIf it never releases anything; unlike WhatIf it
// takes the typed input, built by the same code as the real request's.
func (e *Engine) Preview(ctx context.Context, in Input) (Decision, error) {
	if in.Context.Time.IsZero() {
		in.Context.Time = e.now()
	}
	return e.Current().evaluate(ctx, in.doc(), e.now())
}
