// Package report holds the JSON types of the frontend's order report, the
// answer to `GET /`. The frontend encodes them and tools that check a running
// deployment (the chart's smoke checker) decode the same types, so the two
// cannot drift apart.
package report

import (
	"encoding/json"
	"fmt"
	"io"
)

// Report is the whole answer to `GET /`: one entry per user, ordered by user
// id. `GET /?user=<id>` answers a Report with exactly one entry.
type Report []UserOrders

// UserOrders is one user with every order they placed. Orders is never null
// in the JSON: a user without orders has `"orders": []`.
type UserOrders struct {
	User   User    `json:"user"`
	Orders []Order `json:"orders"`
}

// User is a user as the user service keeps it.
type User struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Address string `json:"address"`
}

// Order is one order with its items resolved through the item service.
// User is the id of the user who placed it.
type Order struct {
	ID    int64  `json:"id"`
	User  int64  `json:"user"`
	Items []Item `json:"items"`
}

// Item is an item as the item service keeps it.
type Item struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Error is the body of every non-2xx answer of the frontend.
type Error struct {
	Error string `json:"error"`
}

// Decode reads a Report strictly: unknown fields and trailing data are
// errors, so that a checker notices when the frontend's answer changes shape.
func Decode(r io.Reader) (Report, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var rep Report
	if err := dec.Decode(&rep); err != nil {
		return nil, fmt.Errorf("decoding the order report: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("decoding the order report: unexpected data after the JSON array")
	}
	return rep, nil
}
