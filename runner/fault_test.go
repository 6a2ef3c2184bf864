package runner

// SetFault makes the approvals of r fail at the steps fault returns an
// error for (see the step list in approval.go).
func (r *Runner) SetFault(fault func(identity, step string) error) { r.fault = fault }
