package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/bottle-dev/bottle/backend/egress"
)

// RequestKindEgress is a request to reach more hosts: approving it grants
// them to the running bottle's proxy in place.
const RequestKindEgress = "egress"

// maxEgressEntries bounds the hosts of one egress request.
const maxEgressEntries = 16

// EgressGrantsFile records the hosts approved for an identity (host[:port]
// only, never a secret): a resume applies them again.
const EgressGrantsFile = "egress-grants.json"

// checkEgress validates an egress request: only host[:port] entries, no
// Dockerfile lines. The entries come back normalised (the form a grant
// records).
func checkEgress(r *Request) error {
	if len(r.Dockerfile) > 0 {
		return errors.New("an egress request has no dockerfile lines: file those with bottle-request --run")
	}
	if len(r.Egress) == 0 {
		return errors.New("egress is empty: give at least one host[:port], such as \"pypi.org:443\"")
	}
	if len(r.Egress) > maxEgressEntries {
		return fmt.Errorf("egress has %d entries; at most %d are accepted", len(r.Egress), maxEgressEntries)
	}
	for i, e := range r.Egress {
		if len(e) > 300 || hasControl(e, false) {
			return fmt.Errorf("egress entry %d is not a host[:port]", i+1)
		}
		rule, err := egress.ParseRule(e)
		if err != nil {
			return fmt.Errorf("egress entry %d: %v", i+1, err)
		}
		r.Egress[i] = rule.String()
	}
	return nil
}

// EgressGrants returns the hosts approved for the identity so far.
func (d *Dir) EgressGrants() ([]egress.Rule, error) {
	data, err := os.ReadFile(d.Join(EgressGrantsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", EgressGrantsFile, err)
	}
	var entries []string
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("read %s: %w", EgressGrantsFile, err)
	}
	var out []egress.Rule
	for _, e := range entries {
		r, err := egress.ParseRule(e)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", EgressGrantsFile, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// AddEgressGrants records more approved hosts (atomically; the caller
// holds the identity's answer lock).
func (d *Dir) AddEgressGrants(rules []egress.Rule) error {
	have, err := d.EgressGrants()
	if err != nil {
		return err
	}
	var entries []string
	for _, r := range have {
		entries = append(entries, r.String())
	}
	for _, r := range rules {
		if !slices.Contains(entries, r.String()) {
			entries = append(entries, r.String())
		}
	}
	data, err := json.Marshal(entries)
	if err != nil {
		return err
	}
	return WriteFileAtomic(d.Join(EgressGrantsFile), data, 0o600)
}
