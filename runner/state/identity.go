package state

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"regexp"
	"strings"
)

const (
	suffixLen = 5
	// maxSlugLen keeps identities short enough for every engine's names
	// (container, network and machine names with a "bottle-" prefix).
	maxSlugLen = 40
	base36     = "0123456789abcdefghijklmnopqrstuvwxyz"
)

// identityPattern is what every identity must look like before it touches a
// path or an engine: a slug, a dash and five base36 characters. No dots, no
// slashes, no uppercase, no doubled or trailing dashes.
var identityPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*-[a-z0-9]{5}$`)

// Slug turns a bottle name into the lowercase [a-z0-9-] form identities use.
func Slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
	}
	s := b.String()
	if len(s) > maxSlugLen {
		s = strings.TrimRight(s[:maxSlugLen], "-")
	}
	if s == "" {
		s = "bottle"
	}
	return s
}

// NewIdentity mints a fresh identity for one launch of the named bottle.
func NewIdentity(bottle string) (string, error) {
	suffix := make([]byte, suffixLen)
	for i := range suffix {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(base36))))
		if err != nil {
			return "", fmt.Errorf("mint identity: %w", err)
		}
		suffix[i] = base36[n.Int64()]
	}
	return Slug(bottle) + "-" + string(suffix), nil
}

// ValidateIdentity refuses anything that is not an identity bottle minted.
func ValidateIdentity(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("invalid identity: empty; identities look like reviewer-k3x9a (see bottle ls)")
	case len(id) > maxSlugLen+1+suffixLen:
		return fmt.Errorf("invalid identity %q: longer than %d characters; identities look like reviewer-k3x9a (see bottle ls)", id, maxSlugLen+1+suffixLen)
	case !identityPattern.MatchString(id):
		return fmt.Errorf("invalid identity %q: identities are lowercase letters, digits and single dashes ending in a 5-character suffix, like reviewer-k3x9a (see bottle ls)", id)
	}
	return nil
}
