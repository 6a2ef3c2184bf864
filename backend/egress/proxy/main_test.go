package proxy

import (
	"bytes"
	"strings"
	"testing"
)

// TestServeRefusesBadRootCAs: root_cas that hold no certificate stop the
// proxy before it serves, rather than leave it with roots nobody meant.
func TestServeRefusesBadRootCAs(t *testing.T) {
	var out, errOut bytes.Buffer
	policy := `{"identity":"b-k3x9a","allow":[],"root_cas":"not a certificate"}`
	if code := Main(t.Context(), nil, strings.NewReader(policy), &out, &errOut); code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	if !strings.Contains(errOut.String(), "root_cas hold no PEM certificate") {
		t.Errorf("stderr %q", errOut.String())
	}
	if strings.Contains(out.String(), EventReady) {
		t.Error("the proxy reported ready")
	}
}
