package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

func decodeStrict(r io.Reader, dst any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty body: a JSON object is required")
		}
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

// describeJSONError turns encoding/json errors into (field, message).
func describeJSONError(err error) (string, string) {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Field, fmt.Sprintf("%s must be %s, got %s", te.Field, te.Type.String(), te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "body", fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, err)
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		f = strings.Trim(f, `"`)
		return f, "unknown field " + f
	}
	return "body", err.Error()
}
