package runner

import "fmt"

// EventStopped reports that a capability approval stopped the agent to
// rebuild its bottle: the session ends with its state kept, and the
// message is the code the stopped agent's process ended with (137 for a
// kill), which is not the agent's verdict on its work.
const EventStopped EventType = "stopped_for_rebuild"

// stoppedForRebuild reports whether the agent's run just ended because an
// approval stopped the bottle (it records its intent before the stop), and
// if so records and reports that instead of an exit.
// Such a session ends with exit code 0: the README's exit-code table
// promises it, and the work goes on in the resume.
func (r *Runner) stoppedForRebuild(s *session, code int) bool {
	// An approval records its intent before it stops the bottle, and
	// preserves the state only after the snapshot (approval.go).
	if !s.dir.IsPreserved() && !s.dir.HasIntent() {
		return false
	}
	id := s.dir.Identity
	_ = s.dir.Audit("stop", map[string]string{"reason": "capability approval", "exit_code": fmt.Sprint(code)})
	r.emit(EventStopped, id, s.bottle.Name, fmt.Sprint(code))
	return true
}
