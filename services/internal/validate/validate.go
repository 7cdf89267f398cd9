// Package validate checks the input of every RPC and of the frontend's query
// before it reaches a store, and says what is wrong in words a caller can
// act on. Its errors are gRPC InvalidArgument statuses, which the frontend
// answers as HTTP 400.
package validate

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Invalid returns an InvalidArgument status error with the reason.
func Invalid(format string, args ...any) error {
	return status.Errorf(codes.InvalidArgument, format, args...)
}

// ID checks that the id named field is positive, as every id the services
// assign is.
func ID(field string, id int64) error {
	if id <= 0 {
		return Invalid("%s must be a positive integer, got %d", field, id)
	}
	return nil
}

// OptionalID is ID for a field where zero means "not set".
func OptionalID(field string, id int64) error {
	if id < 0 {
		return Invalid("%s must be a positive integer or 0 for none, got %d", field, id)
	}
	return nil
}

// MaxIDs bounds the ids of one call (an order's items, a batch lookup).
const MaxIDs = 10000

// IDs checks a list of ids: at least min, at most MaxIDs, each positive.
func IDs(field string, ids []int64, minCount int) error {
	if len(ids) < minCount {
		return Invalid("%s needs at least %d id(s), got %d", field, minCount, len(ids))
	}
	if len(ids) > MaxIDs {
		return Invalid("%s takes at most %d ids, got %d", field, MaxIDs, len(ids))
	}
	for i, id := range ids {
		if id <= 0 {
			return Invalid("%s[%d] must be a positive integer, got %d", field, i, id)
		}
	}
	return nil
}

// ParseID reads an id written in decimal, as in `?user=12`: digits only, no
// sign, no leading zero, positive and within int64.
func ParseID(field, s string) (int64, error) {
	if s == "" {
		return 0, Invalid("%s is empty: want a positive integer", field)
	}
	bad := func() (int64, error) {
		return 0, Invalid("%s must be a positive integer, got %s", field, Quote(s))
	}
	if s[0] == '0' {
		return bad()
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return bad()
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, Invalid("%s %s is out of range: ids fit in a signed 64-bit integer", field, Quote(s))
	}
	return id, nil
}

// Text limits, in characters.
const (
	MaxNameLen    = 100
	MaxAddressLen = 200
)

// Text checks a human-readable field (a name, an address): valid UTF-8,
// not blank, no control characters, at most maxLen characters.
func Text(field, s string, maxLen int) error {
	if !utf8.ValidString(s) {
		return Invalid("%s is not valid UTF-8", field)
	}
	if strings.TrimSpace(s) == "" {
		return Invalid("%s must not be empty", field)
	}
	if n := utf8.RuneCountInString(s); n > maxLen {
		return Invalid("%s is %d characters long, at most %d allowed", field, n, maxLen)
	}
	if strings.TrimSpace(s) != s {
		return Invalid("%s must not start or end with spaces", field)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return Invalid("%s must not contain control characters (found %U)", field, r)
		}
	}
	return nil
}

// Quote quotes untrusted input for an error message, cut to a length that
// keeps messages readable.
func Quote(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		return fmt.Sprintf("%q…", string(r[:max]))
	}
	return strconv.Quote(s)
}
