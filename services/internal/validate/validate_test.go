package validate

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestParseID(t *testing.T) {
	good := map[string]int64{"1": 1, "12": 12, "9223372036854775807": math.MaxInt64}
	for in, want := range good {
		got, err := ParseID("user", in)
		if err != nil || got != want {
			t.Errorf("ParseID(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":                    "user is empty",
		"0":                   "positive integer",
		"-1":                  "positive integer",
		"+1":                  "positive integer",
		"01":                  "positive integer",
		"1.5":                 "positive integer",
		" 1":                  "positive integer",
		"abc":                 `got "abc"`,
		"9223372036854775808": "out of range",
	}
	for in, reason := range bad {
		_, err := ParseID("user", in)
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), reason) {
			t.Errorf("ParseID(%q) error = %v; want InvalidArgument containing %q", in, err, reason)
		}
	}
}

func TestID(t *testing.T) {
	if err := ID("id", 1); err != nil {
		t.Errorf("ID(1) = %v", err)
	}
	for _, id := range []int64{0, -1, math.MinInt64} {
		if err := ID("id", id); status.Code(err) != codes.InvalidArgument {
			t.Errorf("ID(%d) = %v; want InvalidArgument", id, err)
		}
	}
	if err := OptionalID("user_id", 0); err != nil {
		t.Errorf("OptionalID(0) = %v", err)
	}
	if err := OptionalID("user_id", -3); status.Code(err) != codes.InvalidArgument {
		t.Errorf("OptionalID(-3) = %v; want InvalidArgument", err)
	}
}

func TestIDs(t *testing.T) {
	if err := IDs("item_ids", []int64{1, 2, 2}, 1); err != nil {
		t.Errorf("IDs = %v", err)
	}
	cases := map[string][]int64{
		"needs at least 1": nil,
		"item_ids[1]":      {1, 0},
		"at most 10000":    make([]int64, MaxIDs+1),
	}
	for reason, ids := range cases {
		err := IDs("item_ids", ids, 1)
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), reason) {
			t.Errorf("IDs(%d ids) = %v; want InvalidArgument containing %q", len(ids), err, reason)
		}
	}
}

func TestText(t *testing.T) {
	for _, s := range []string{"User One", "1234 5th Street", "Zoë Ünal", strings.Repeat("x", MaxNameLen)} {
		if err := Text("name", s, MaxNameLen); err != nil {
			t.Errorf("Text(%q) = %v", s, err)
		}
	}
	bad := map[string]string{
		"":                                "must not be empty",
		"   ":                             "must not be empty",
		" padded":                         "spaces",
		"a\nb":                            "control characters",
		"\xff":                            "UTF-8",
		strings.Repeat("é", MaxNameLen+1): "at most 100",
	}
	for s, reason := range bad {
		err := Text("name", s, MaxNameLen)
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), reason) {
			t.Errorf("Text(%q) = %v; want InvalidArgument containing %q", s, err, reason)
		}
	}
}

// FuzzParseID: whatever the input, ParseID never panics, accepts exactly the
// canonical decimal form of a positive int64, and says InvalidArgument
// otherwise.
func FuzzParseID(f *testing.F) {
	for _, s := range []string{"1", "0", "-1", "01", "9223372036854775807", "9223372036854775808", "", "1e3", "١"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID("user", s)
		n, perr := strconv.ParseInt(s, 10, 64)
		canonical := perr == nil && n > 0 && strconv.FormatInt(n, 10) == s
		switch {
		case err == nil && !canonical:
			t.Fatalf("ParseID(%q) accepted %d, but %q is not a canonical positive id", s, id, s)
		case err == nil && id != n:
			t.Fatalf("ParseID(%q) = %d, want %d", s, id, n)
		case err != nil && canonical:
			t.Fatalf("ParseID(%q) rejected a canonical id: %v", s, err)
		case err != nil && status.Code(err) != codes.InvalidArgument:
			t.Fatalf("ParseID(%q) error %v is not InvalidArgument", s, err)
		case err != nil && !utf8.ValidString(status.Convert(err).Message()):
			t.Fatalf("ParseID(%q) error message is not valid UTF-8: %q", s, status.Convert(err).Message())
		}
	})
}

// FuzzText: Text never panics, and what it accepts is printable UTF-8 within
// the length limit.
func FuzzText(f *testing.F) {
	for _, s := range []string{"User One", "", " x", "a\x00b", "\xff\xfe", "日本語"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := Text("name", s, MaxNameLen)
		if err != nil {
			if status.Code(err) != codes.InvalidArgument {
				t.Fatalf("Text(%q) error %v is not InvalidArgument", s, err)
			}
			if !utf8.ValidString(status.Convert(err).Message()) {
				t.Fatalf("Text(%q) error message is not valid UTF-8", s)
			}
			return
		}
		if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxNameLen || strings.TrimSpace(s) == "" {
			t.Fatalf("Text accepted %q", s)
		}
		for _, r := range s {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("Text accepted %q with control character %U", s, r)
			}
		}
	})
}
