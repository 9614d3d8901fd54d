package gen

import (
	"fmt"
	"strconv"
)

// tagPair is one key:"value" pair of a struct tag.
type tagPair struct {
	Key, Value string
}

// parseStructTag parses a struct tag the way reflect.StructTag.Lookup does,
// but reports what it cannot parse instead of silently stopping there; like
// go vet, it also wants the pairs separated by spaces. It returns the pairs
// parsed before any error.
func parseStructTag(tag string) ([]tagPair, error) {
	var pairs []tagPair
	first := true
	for {
		i := 0
		for i < len(tag) && tag[i] == ' ' {
			i++
		}
		if i == 0 && !first && tag != "" {
			return pairs, fmt.Errorf("key:\"value\" pairs are not separated by spaces")
		}
		tag = tag[i:]
		if tag == "" {
			return pairs, nil
		}
		first = false

		// The key: non-control characters other than space, quote and colon.
		i = 0
		for i < len(tag) && tag[i] > ' ' && tag[i] != ':' && tag[i] != '"' && tag[i] != 0x7f {
			i++
		}
		if i == 0 {
			return pairs, fmt.Errorf("expected a key at %q", tag)
		}
		key := tag[:i]
		if i >= len(tag) || tag[i] != ':' {
			return pairs, fmt.Errorf("key %q is not followed by :\"value\"", key)
		}
		if i+1 >= len(tag) || tag[i+1] != '"' {
			return pairs, fmt.Errorf("the value of key %q is not quoted", key)
		}
		tag = tag[i+1:]

		// The quoted value.
		i = 1
		for i < len(tag) && tag[i] != '"' {
			if tag[i] == '\\' {
				i++
			}
			i++
		}
		if i >= len(tag) {
			return pairs, fmt.Errorf("the value of key %q has no closing quote", key)
		}
		quoted := tag[:i+1]
		tag = tag[i+1:]
		value, err := strconv.Unquote(quoted)
		if err != nil {
			return pairs, fmt.Errorf("the value of key %q is not a valid quoted string", key)
		}
		pairs = append(pairs, tagPair{key, value})
	}
}
