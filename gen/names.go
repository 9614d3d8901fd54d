package gen

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// snakeCase turns a Go identifier into snake_case: OrgMember -> org_member,
// HTTPLog -> http_log, UserID -> user_id, S3Bucket -> s3_bucket.
// A word boundary is an upper-case letter after a lower-case letter or a
// digit, or the last upper-case letter of a run that a lower-case letter
// follows (the L of HTTPLog).
func snakeCase(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 && rs[i-1] != '_' {
				prev := rs[i-1]
				nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
				if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
					b.WriteByte('_')
				}
			}
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// plural pluralises an English noun the simple way: +s; +es after s, x, z,
// ch and sh; consonant+y -> ies.
func plural(s string) string {
	switch {
	case s == "":
		return s
	case strings.HasSuffix(s, "s"), strings.HasSuffix(s, "x"), strings.HasSuffix(s, "z"),
		strings.HasSuffix(s, "ch"), strings.HasSuffix(s, "sh"):
		return s + "es"
	case strings.HasSuffix(s, "y") && len(s) >= 2:
		prev, _ := utf8.DecodeLastRuneInString(s[:len(s)-1])
		if unicode.IsLetter(prev) && !strings.ContainsRune("aeiouAEIOU", prev) {
			return s[:len(s)-1] + "ies"
		}
	}
	return s + "s"
}

// defaultTable is the table of a model without a //cachegen:table directive.
func defaultTable(typeName string) string {
	return plural(snakeCase(typeName))
}
