package gat1400

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Peers disagree on whether numeric-like fields are JSON numbers or strings
// (StatusCode "0" vs 0, Width "1920" vs 1920, HasPlate "1"/1/true; GAT1400.md §2, §8).
// The types below read every form and write one: integers as numbers, HasPlate as a
// boolean (the type the reference gives it), codes as strings. JSON null leaves the
// value untouched, like encoding/json does for plain fields; "" reads as zero.

// FlexInt is an int that also decodes from numeric strings, integral floats and booleans.
type FlexInt int

// FlexFloat is a float64 that also decodes from numeric strings (Speed, Similaritydegree).
type FlexFloat float64

// FlexBool is HasPlate: decodes true/false, 1/0 and "1"/"0"/"true"/"false"; encodes a boolean.
type FlexBool bool

// FlexString is a string code that some peers send as a bare number (IsOnline, SubscribeDetail).
type FlexString string

func (v FlexInt) MarshalJSON() ([]byte, error) { return strconv.AppendInt(nil, int64(v), 10), nil }

func (v *FlexInt) UnmarshalJSON(b []byte) error    { return unmarshalInt(b, (*int)(v)) }
func (v *InfoKind) UnmarshalJSON(b []byte) error   { return unmarshalInt(b, (*int)(v)) }
func (v *EventSort) UnmarshalJSON(b []byte) error  { return unmarshalInt(b, (*int)(v)) }
func (v *StatusCode) UnmarshalJSON(b []byte) error { return unmarshalInt(b, (*int)(v)) }

func (v *FlexString) UnmarshalJSON(b []byte) error { return unmarshalCode(b, (*string)(v), 0) }
func (v *ColorType) UnmarshalJSON(b []byte) error  { return unmarshalCode(b, (*string)(v), 0) }
func (v *GenderCode) UnmarshalJSON(b []byte) error { return unmarshalCode(b, (*string)(v), 0) }

// Two-digit codes are zero-padded when they arrive as numbers: 2 means "02".
func (v *ImageType) UnmarshalJSON(b []byte) error  { return unmarshalCode(b, (*string)(v), 2) }
func (v *PlateClass) UnmarshalJSON(b []byte) error { return unmarshalCode(b, (*string)(v), 2) }

func (v *FlexFloat) UnmarshalJSON(b []byte) error {
	s, null, err := scalar(b)
	if err != nil || null {
		return err
	}
	if s == "" {
		*v = 0
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("gat1400: %q is not a number", s)
	}
	*v = FlexFloat(f)
	return nil
}

func (v FlexBool) MarshalJSON() ([]byte, error) { return strconv.AppendBool(nil, bool(v)), nil }

func (v *FlexBool) UnmarshalJSON(b []byte) error {
	s, null, err := scalar(b)
	if err != nil || null {
		return err
	}
	switch strings.ToLower(s) {
	case "true", "1":
		*v = true
	case "false", "0", "":
		*v = false
	default:
		return fmt.Errorf("gat1400: %q is not a boolean", s)
	}
	return nil
}

// scalar returns the text of a JSON scalar with string quotes removed and spaces trimmed.
func scalar(b []byte) (s string, null bool, err error) {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return "", false, fmt.Errorf("gat1400: empty JSON value")
	case string(b) == "null":
		return "", true, nil
	case b[0] == '"':
		if err := json.Unmarshal(b, &s); err != nil {
			return "", false, err
		}
		return strings.TrimSpace(s), false, nil
	case b[0] == '{' || b[0] == '[':
		return "", false, fmt.Errorf("gat1400: expected a scalar, got %.20s", b)
	}
	return string(b), false, nil
}

func unmarshalInt(b []byte, dst *int) error {
	s, null, err := scalar(b)
	if err != nil || null {
		return err
	}
	switch s {
	case "", "false":
		*dst = 0
		return nil
	case "true":
		*dst = 1
		return nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		*dst = n
		return nil
	}
	// "1920.0" or 1e3 from loosely typed peers; fractions are refused, not truncated.
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return fmt.Errorf("gat1400: %q is not an integer", s)
	}
	*dst = int(f)
	return nil
}

func unmarshalCode(b []byte, dst *string, pad int) error {
	b = bytes.TrimSpace(b)
	quoted := len(b) > 0 && b[0] == '"'
	s, null, err := scalar(b)
	if err != nil || null {
		return err
	}
	if !quoted {
		if _, err := strconv.ParseUint(s, 10, 32); err != nil {
			return fmt.Errorf("gat1400: code %s is neither a string nor a non-negative integer", s)
		}
		for len(s) < pad {
			s = "0" + s
		}
	}
	*dst = s
	return nil
}
