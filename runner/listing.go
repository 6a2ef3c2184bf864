package runner

import (
	"context"
	"sync"

	"github.com/bottle-dev/bottle/backend"
	"github.com/bottle-dev/bottle/runner/state"
)

// Status lists every identity with a state dir. A corrupt state dir is a row
// with State "error", never a failure of the whole listing. The state dirs
// are read concurrently and each backend is asked once for all of its
// instances, so a thousand identities cost about what ten do.
func (r *Runner) Status(ctx context.Context) ([]BottleStatus, error) {
	rows, _, err := r.list(ctx, true, false)
	return rows, err
}

// Requests lists every pending request across identities, oldest first per
// identity. Reading the queues takes them in (state.Dir.Intake): new
// requests are frozen, invalid or changed ones are answered "rejected" and
// reported as EventRejected; a corrupt state dir is skipped with a warning.
func (r *Runner) Requests(ctx context.Context) ([]PendingRequest, error) {
	_, reqs, err := r.list(ctx, false, true)
	return reqs, err
}

// Overview is Status and Requests in one pass over the state dirs, each
// queue taken in once: what the dashboard shows on every refresh.
func (r *Runner) Overview(ctx context.Context) ([]BottleStatus, []PendingRequest, error) {
	return r.list(ctx, true, true)
}

// dirView is what one read of a state dir finds.
type dirView struct {
	row      BottleStatus
	pending  []PendingRequest
	rejected []state.Rejection
	queueErr error
	syncErr  error
}

// list reads every state dir once, concurrently, and returns the ls rows
// (with each bottle's engine state when engine is set) and the pending
// requests; with events it reports queue errors and rejections as
// Requests does. Each backend's List starts as soon as the first of its
// bottles is read, so it overlaps with reading the rest.
func (r *Runner) list(ctx context.Context, engine, events bool) ([]BottleStatus, []PendingRequest, error) {
	ids, invalid, err := r.Home.Identities()
	if err != nil {
		return nil, nil, err
	}
	var lists *engineLists
	if engine {
		lists = newEngineLists(ctx, r)
	}
	views := make([]dirView, len(ids))
	if err := forEach(ctx, len(ids), func(i int) { views[i] = r.readDir(ctx, ids[i], lists, events) }); err != nil {
		return nil, nil, err
	}
	if events {
		r.report(views)
	}
	rows, reqs := assemble(views, invalid)
	if engine {
		lists.fill(rows)
	}
	return rows, reqs, nil
}

// report emits what reading views found in the queues: sync and read
// errors as warnings, and the requests rejected on intake.
func (r *Runner) report(views []dirView) {
	for i := range views {
		v := &views[i]
		if v.syncErr != nil {
			r.emit(EventWarning, v.row.Identity, "", v.syncErr.Error())
		}
		if v.queueErr != nil {
			r.emit(EventWarning, v.row.Identity, "", v.queueErr.Error())
			continue
		}
		for _, rj := range v.rejected {
			r.emit(EventRejected, v.row.Identity, "", rj.ID+": "+rj.Reason)
		}
	}
}

// assemble returns the rows of views, then one error row per invalid name,
// and the pending requests of views in their order.
func assemble(views []dirView, invalid []string) ([]BottleStatus, []PendingRequest) {
	rows := make([]BottleStatus, 0, len(views)+len(invalid))
	var reqs []PendingRequest
	for i := range views {
		v := &views[i]
		rows = append(rows, v.row)
		if len(v.pending) > 0 && v.queueErr == nil {
			reqs = append(reqs, v.pending...)
		}
	}
	for _, name := range invalid {
		rows = append(rows, invalidRow(name))
	}
	return rows, reqs
}

// invalidRow is the row of an entry of the state root that is not an
// identity's state dir.
func invalidRow(name string) BottleStatus {
	return BottleStatus{Identity: name, State: StatusError, Error: "not a bottle state dir (bad name); remove it by hand"}
}

// readDir reads the state dir of id: its metadata, its preserve marker,
// its queue (taken in; with syncQueue first mirrored from a bottle that
// holds its own copy). The row's State stays "" for a bottle only its
// engine can tell running from exited; its backend's List is then started
// on lists, when given.
func (r *Runner) readDir(ctx context.Context, id string, lists *engineLists, syncQueue bool) dirView {
	v := dirView{row: BottleStatus{Identity: id}}
	dir, err := r.Home.Dir(id)
	if err != nil {
		v.row.State, v.row.Error = StatusError, err.Error()
		return v
	}
	md, mdErr := dir.ReadMetadata()
	preserved := dir.IsPreserved()
	if syncQueue && mdErr == nil && !preserved {
		v.syncErr = r.syncQueueOnce(ctx, dir, md.BackendName())
	}
	pending, rejected, err := r.intake(dir)
	v.queueErr, v.rejected = err, rejected
	bottle := ""
	if mdErr == nil {
		bottle = md.Bottle
	}
	for _, p := range pending {
		v.pending = append(v.pending, PendingRequest{Identity: id, Bottle: bottle, Request: p.Request, Digest: p.Digest})
	}
	if mdErr != nil {
		v.row.State, v.row.Error = StatusError, mdErr.Error()
		return v
	}
	v.row.Bottle, v.row.Agent, v.row.Backend, v.row.StartedAt = md.Bottle, md.Agent, md.BackendName(), md.StartedAt
	v.row.PendingRequests = len(pending)
	if preserved {
		v.row.State = StatusPreserved
	} else if lists != nil {
		lists.start(v.row.Backend)
	}
	return v
}

// engineLists asks each backend for its instances once, in the background,
// while the state dirs are still being read.
type engineLists struct {
	r   *Runner
	ctx context.Context
	mu  sync.Mutex
	m   map[string]*engineList
	// last names the backend of the list fill used last: rows of one
	// backend follow each other.
	last string
}

// engineList is one backend's answer; done closes when it is in.
type engineList struct {
	done   chan struct{}
	byName map[string]backend.Instance
	err    error
}

func newEngineLists(ctx context.Context, r *Runner) *engineLists {
	return &engineLists{r: r, ctx: ctx, m: map[string]*engineList{}}
}

// start begins the List of the backend name unless it has begun.
func (e *engineLists) start(name string) *engineList {
	e.mu.Lock()
	defer e.mu.Unlock()
	if l := e.m[name]; l != nil {
		return l
	}
	l := &engineList{done: make(chan struct{})}
	e.m[name] = l
	go func() {
		defer close(l.done)
		l.byName, l.err = e.r.instancesByName(e.ctx, name)
	}()
	return l
}

// fill sets the State of the rows readDir left open from their backend's
// instances: one List per backend, whatever the number of bottles.
func (e *engineLists) fill(rows []BottleStatus) {
	var l *engineList
	for i := range rows {
		st := &rows[i]
		if st.State != "" {
			continue
		}
		if l == nil || st.Backend != e.last {
			l, e.last = e.start(st.Backend), st.Backend
			<-l.done
		}
		if l.err != nil {
			st.State, st.Error = StatusError, l.err.Error()
			continue
		}
		st.State = StatusExited
		switch l.byName[backend.InstanceName(st.Identity)].State {
		case backend.StateRunning:
			st.State = StatusRunning
		case backend.StateCreated:
			st.State = StatusCreated
		}
	}
}

// instancesByName lists the managed instances of one backend by name.
func (r *Runner) instancesByName(ctx context.Context, name string) (map[string]backend.Instance, error) {
	be, err := r.backend(name)
	if err != nil {
		return nil, err
	}
	insts, err := be.List(ctx, nil)
	if err != nil {
		return nil, err
	}
	m := make(map[string]backend.Instance, len(insts))
	for _, in := range insts {
		m[in.Name] = in
	}
	return m, nil
}
