package queuetype

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// jsonCases are documents around every rule of the grammar, each valid or
// not as encoding/json says.
var jsonCases = []string{
	``, ` `, `1`, ` 1 `, `-`, `-0`, `-01`, `01`, `0.`, `0.5`, `.5`, `1e`, `1e+`, `1E-7`, `1e07`, `1.5e3x`,
	`true`, `tru`, `truex`, `false`, `null`, `nul`, `nulll`, `True`,
	`""`, `"`, `"abc`, `"a\"b"`, `"\\"`, `"\/\b\f\n\r\t"`, `"\x"`, `"\u00e9"`, `"\u00G9"`, `"\u12"`, `"\`,
	"\"a\tb\"", "\"a\x1fb\"", "\"a\x7fb\"", "\"\xff\xfe\"", `"` + strings.Repeat("x", 100) + `"`,
	`"` + strings.Repeat("x", 31) + `\n` + strings.Repeat("y", 17) + `"`, `"` + strings.Repeat("x", 16) + "\x01" + `"`,
	`{}`, `{ }`, `{"a":1}`, `{"a" : [1, 2, {"b":null}] }`, `{"a":1,}`, `{,}`, `{"a"}`, `{"a":}`, `{1:2}`, `{"a":1 "b":2}`,
	`[]`, `[ ]`, `[1,2]`, `[1,]`, `[,1]`, `[1 2]`, `[[[]]]`, `[[[]]`, `[}`, `{]`, `[1]]`, `{"a":{"b":{}}}`,
	`1 2`, `{} {}`, "\t\n\r [1]\r\n", "\v1", "\u00a01",
	strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth),
	strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1),
	strings.Repeat(`{"a":`, maxJSONDepth-1) + "[]" + strings.Repeat("}", maxJSONDepth-1),
	strings.Repeat(`{"a":`, maxJSONDepth) + "[]" + strings.Repeat("}", maxJSONDepth),
}

// TestValidJSONAsEncodingJSON: ValidJSON agrees with json.Valid on every
// case, and on each case cut short at every length.
func TestValidJSONAsEncodingJSON(t *testing.T) {
	for _, c := range jsonCases {
		for n := len(c); n >= 0 && n >= len(c)-40; n-- {
			doc := c[:n]
			if got, want := ValidJSON([]byte(doc)), json.Valid([]byte(doc)); got != want {
				t.Errorf("ValidJSON(%.60q) = %v, json.Valid says %v", doc, got, want)
			}
		}
	}
}

// TestValidJSONDepth: the nesting limit is encoding/json's, exactly.
func TestValidJSONDepth(t *testing.T) {
	nested := func(n int) []byte { return []byte(strings.Repeat("[", n) + strings.Repeat("]", n)) }
	if !ValidJSON(nested(maxJSONDepth)) || ValidJSON(nested(maxJSONDepth+1)) {
		t.Fatalf("nesting of %d accepted: %v, of %d: %v", maxJSONDepth, ValidJSON(nested(maxJSONDepth)),
			maxJSONDepth+1, ValidJSON(nested(maxJSONDepth+1)))
	}
}

// FuzzValidJSON: ValidJSON and json.Valid agree on any input.
func FuzzValidJSON(f *testing.F) {
	for _, c := range jsonCases {
		if len(c) < 1000 {
			f.Add([]byte(c))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := ValidJSON(b), json.Valid(b); got != want {
			t.Fatalf("ValidJSON(%q) = %v, json.Valid says %v", b, got, want)
		}
	})
}

// BenchmarkValidJSON compares ValidJSON with json.Valid on contents of the
// benchmark's shape (a short head, then a long string) and on an object of
// many short members.
func BenchmarkValidJSON(b *testing.B) {
	docs := map[string][]byte{"members": []byte("[" + strings.Repeat(`{"id":12345,"name":"a name","ok":true,"tags":["x","y"],"v":-1.5e3},`, 100) + "{}]")}
	for _, size := range []int{100, 1024, 16384, 65536} {
		docs[fmt.Sprint("string-", size)] = []byte(`{"t":1764000000000000000,"p":"` + strings.Repeat("x", size-32) + `"}`)
	}
	for name, doc := range docs {
		for _, f := range []struct {
			name  string
			valid func([]byte) bool
		}{{"ValidJSON", ValidJSON}, {"json.Valid", json.Valid}} {
			b.Run(name+"/"+f.name, func(b *testing.B) {
				b.SetBytes(int64(len(doc)))
				for b.Loop() {
					if !f.valid(doc) {
						b.Fatal("invalid")
					}
				}
			})
		}
	}
}
