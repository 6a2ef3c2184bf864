package state

import (
	"regexp"
	"strings"
	"testing"
)

var slugPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func TestSlug(t *testing.T) {
	long := strings.Repeat("a", 100)
	tests := []struct {
		name, in, want string
	}{
		{"plain", "reviewer", "reviewer"},
		{"uppercase", "Reviewer", "reviewer"},
		{"digits", "fixer2", "fixer2"},
		{"inner separators", "code_review.bot", "code-review-bot"},
		{"double separators", "a--b__c..d", "a-b-c-d"},
		{"leading and trailing separators", "--_reviewer_--", "reviewer"},
		{"spaces", "  my   bottle  ", "my-bottle"},
		{"only symbols", "!@#$%^&*()", "bottle"},
		{"empty", "", "bottle"},
		{"only dashes", "-----", "bottle"},
		{"unicode letters are separators", "Ünïcødé", "n-c-d"},
		{"unicode only", "日本語", "bottle"},
		{"emoji between words", "fix🚀it", "fix-it"},
		{"kelvin sign lowercases to k", "\u212aelvin", "kelvin"},
		{"path traversal", "../../etc/passwd", "etc-passwd"},
		{"control characters", "a\x00b\nc", "a-b-c"},
		{"long name truncated", long, strings.Repeat("a", maxSlugLen)},
		{"truncation drops a trailing dash", strings.Repeat("a", maxSlugLen-1) + "-bcd", strings.Repeat("a", maxSlugLen-1)},
		{"truncation inside many words", strings.Repeat("ab ", 30), strings.Repeat("ab-", 13) + "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Slug(tt.in)
			if got != tt.want {
				t.Errorf("Slug(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if !slugPattern.MatchString(got) || len(got) > maxSlugLen {
				t.Errorf("Slug(%q) = %q is not a valid slug", tt.in, got)
			}
		})
	}
}

func TestNewIdentityFormat(t *testing.T) {
	suffix := regexp.MustCompile(`^[0-9a-z]{5}$`)
	for _, name := range []string{"reviewer", "Code Review", "", "!!!", strings.Repeat("x", 200), "日本語", "a-b-c"} {
		id, err := NewIdentity(name)
		if err != nil {
			t.Fatalf("NewIdentity(%q): %v", name, err)
		}
		slug, sfx, ok := cut(id)
		if !ok {
			t.Fatalf("NewIdentity(%q) = %q has no suffix", name, id)
		}
		if slug != Slug(name) {
			t.Errorf("NewIdentity(%q) = %q: slug %q, want %q", name, id, slug, Slug(name))
		}
		if !suffix.MatchString(sfx) {
			t.Errorf("NewIdentity(%q) = %q: suffix %q is not 5 base36 characters", name, id, sfx)
		}
		if err := ValidateIdentity(id); err != nil {
			t.Errorf("ValidateIdentity(NewIdentity(%q) = %q): %v", name, id, err)
		}
	}
}

// cut splits an identity at its last dash.
func cut(id string) (slug, suffix string, ok bool) {
	i := strings.LastIndexByte(id, '-')
	if i < 0 {
		return "", "", false
	}
	return id[:i], id[i+1:], true
}

func TestNewIdentityUnique(t *testing.T) {
	// 36^5 ≈ 6e7 suffixes: n mints collide with probability ≈ n²/(2·6e7),
	// 3e-4 for 200 (5000 would collide one run in five). A collision here
	// is far more likely a broken random source. (Launches never rely on
	// luck: mint retries when the identity's lock or dir is taken.)
	const n = 200
	seen := make(map[string]bool, n)
	chars := map[rune]bool{}
	for range n {
		id, err := NewIdentity("fixer")
		if err != nil {
			t.Fatal(err)
		}
		if seen[id] {
			t.Fatalf("NewIdentity minted %q twice in %d mints", id, len(seen)+1)
		}
		seen[id] = true
		_, sfx, _ := cut(id)
		for _, r := range sfx {
			chars[r] = true
		}
	}
	// Every base36 character shows up in 1000 draws unless the alphabet
	// is wrong (probability of missing one ≈ 36·e^-28).
	if len(chars) != len(base36) {
		t.Errorf("suffixes used %d distinct characters, want all %d of base36", len(chars), len(base36))
	}
}

func TestValidateIdentity(t *testing.T) {
	maxID := strings.Repeat("a", maxSlugLen) + "-k3x9a"
	tests := []struct {
		id string
		ok bool
	}{
		{"reviewer-k3x9a", true},
		{"code-review-bot-00000", true},
		{"a-zzzzz", true},
		{"12345-abcde", true},
		{maxID, true},

		{"", false},
		{"../x", false},
		{"..", false},
		{".", false},
		{"a/b", false},
		{"a/b-k3x9a", false},
		{"../reviewer-k3x9a", false},
		{"reviewer-k3x9a/..", false},
		{"Reviewer-k3x9a", false},
		{"reviewer-K3X9A", false},
		{"a" + maxID, false},                         // one too long
		{strings.Repeat("a", 500) + "-k3x9a", false}, // far too long
		{"x--abcde", false},
		{"-x-abcde", false},
		{"reviewer-k3x9a-", false},
		{"reviewer-", false},
		{"reviewer", false},
		{"k3x9a", false},
		{"-k3x9a", false},
		{"reviewer-k3x9", false},   // 4-char suffix
		{"reviewer-k3x9ab", false}, // 6-char suffix
		{"reviewer_k3x9a", false},
		{"reviewer.k3x9a", false},
		{"reviewer-k3x9a\n", false},
		{"reviewer k3x9a", false},
		{"revïewer-k3x9a", false},
		{"reviewer-k3x9a\x00", false},
	}
	for _, tt := range tests {
		err := ValidateIdentity(tt.id)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateIdentity(%q) = %v, want ok=%v", tt.id, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "bottle ls") {
			t.Errorf("ValidateIdentity(%q) error %q does not point at bottle ls", tt.id, err)
		}
	}
}
