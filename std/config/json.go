package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
)

// ErrConfigFile is wrapped by every error about the -c file: unreadable,
// empty, malformed, an unknown key or a value of the wrong type.
var ErrConfigFile = errors.New("config file")

// loadJSONFile overrides the fields of v (a *Client or *Server) with the
// keys present in the JSON file at path.
func loadJSONFile(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w -c: %w", ErrConfigFile, err)
	}
	return decodeJSON(path, data, v)
}

// decodeJSON decodes one JSON object from data into v, rejecting unknown
// keys and trailing data. name labels the errors ("name:line:col: ...").
func decodeJSON(name string, data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w %s", ErrConfigFile, describeJSONError(name, data, err, v))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		line, col := position(data, dec.InputOffset())
		return fmt.Errorf("%w %s:%d:%d: unexpected data after the JSON object", ErrConfigFile, name, line, col)
	}
	return nil
}

// describeJSONError turns a decoding error into "name:line:col: what".
func describeJSONError(name string, data []byte, err error, v any) string {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.Is(err, io.EOF):
		return fmt.Sprintf("%s: empty file, want a JSON object such as {\"mtu\": 1350}", name)
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, col := position(data, int64(len(data)))
		return fmt.Sprintf("%s:%d:%d: unexpected end of file, the JSON object is not closed", name, line, col)
	case errors.As(err, &syntax):
		line, col := position(data, syntax.Offset)
		return fmt.Sprintf("%s:%d:%d: malformed JSON: %v", name, line, col, syntax)
	case errors.As(err, &typ):
		line, col := position(data, typ.Offset)
		if typ.Field == "" {
			return fmt.Sprintf("%s:%d:%d: want a JSON object, got %s", name, line, col, typ.Value)
		}
		key := typ.Field[strings.LastIndexByte(typ.Field, '.')+1:] // "Common.mtu" → "mtu"
		return fmt.Sprintf("%s:%d:%d: key %q wants %s, got %s", name, line, col, key, jsonKind(typ.Type), typ.Value)
	}
	if key, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		where := name
		if i := bytes.Index(data, []byte(key)); i >= 0 {
			line, col := position(data, int64(i)+1)
			where = fmt.Sprintf("%s:%d:%d", name, line, col)
		}
		return fmt.Sprintf("%s: unknown key %s; valid keys: %s", where, key, strings.Join(jsonKeys(reflect.TypeOf(v)), ", "))
	}
	return fmt.Sprintf("%s: %v", name, err)
}

// position converts "offset bytes read" into the 1-based line and column
// of the last byte read.
func position(data []byte, offset int64) (line, col int) {
	i := int(min(max(offset-1, 0), int64(len(data))))
	before := data[:i]
	return 1 + bytes.Count(before, []byte("\n")), i - bytes.LastIndexByte(before, '\n')
}

// jsonKind names the JSON value a Go field type wants.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	}
	return t.String()
}

// jsonKeys lists the JSON keys of a struct (or pointer to one), the fields
// of embedded structs included, sorted.
func jsonKeys(t reflect.Type) []string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var keys []string
	for f := range t.Fields() {
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case f.Anonymous && tag == "":
			keys = append(keys, jsonKeys(f.Type)...)
		case tag != "" && tag != "-":
			keys = append(keys, tag)
		case f.IsExported():
			keys = append(keys, f.Name)
		}
	}
	slices.Sort(keys)
	return keys
}
