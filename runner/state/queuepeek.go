package state

import (
	"fmt"
	"strings"
	"syscall"
)

// PendingIfQuiet returns the pending frozen requests, oldest first, when
// an Intake would have nothing to do: the queue holds no request file (so
// nothing new to freeze and nothing to recheck) and no answered record is
// left to prune. Then ok is true, and it took no lock and wrote nothing:
// every request it returns was frozen before, as Intake would return it.
// Otherwise ok is false and the caller takes the queue in (Intake, under
// the answer lock). A listing of many identities pays, for each quiet
// one, a few reads of names instead of a lock and an Intake.
func (d *Dir) PendingIfQuiet() (pending []*Frozen, ok bool, err error) {
	has, err := d.queueHasRequests()
	if err != nil || has {
		return nil, false, err
	}
	all, err := d.frozenAll()
	if err != nil {
		return nil, false, err
	}
	for _, f := range all {
		if !f.Pending() {
			return nil, false, nil // Intake prunes it
		}
	}
	return sortedPending(all), true, nil
}

// queueHasRequests reports whether the queue holds a name Intake reads as
// a request. It only reads the queue's names, with one open and a few
// getdents, following no link; a queue with more names than Intake lists
// counts as holding requests, so that Intake's own bounds decide.
func (d *Dir) queueHasRequests() (bool, error) {
	fd, err := syscall.Open(d.QueuePath(), syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return false, fmt.Errorf("open queue of %s: %w", d.Identity, err)
	}
	defer syscall.Close(fd)
	buf := scratch.Get().(*[8 << 10]byte)
	defer scratch.Put(buf)
	var names []string
	seen := 0
	for {
		n, err := syscall.ReadDirent(fd, buf[:])
		if err != nil {
			return false, fmt.Errorf("read queue of %s: %w", d.Identity, err)
		}
		if n <= 0 {
			return false, nil
		}
		_, _, names = syscall.ParseDirent(buf[:n], -1, names[:0])
		for _, name := range names {
			if isRequestName(name) {
				return true, nil
			}
		}
		if seen += len(names); seen >= maxQueueEntries {
			return true, nil
		}
	}
}

// isRequestName reports whether Intake reads the queue file name as a
// request: temp files (dot names), answers and anything not .json are not.
func isRequestName(name string) bool {
	return !strings.HasPrefix(name, ".") && !strings.HasSuffix(name, answerSuffix) && strings.HasSuffix(name, ".json")
}
