package scaffold

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// columnRe is what the generator takes as a table or column name.
var columnRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// initialisms are the words Go spells in capitals (ID, not Id).
var initialisms = map[string]bool{
	"ACL": true, "API": true, "ASCII": true, "CPU": true, "CSS": true, "DNS": true, "EOF": true,
	"GUID": true, "HTML": true, "HTTP": true, "HTTPS": true, "ID": true, "IP": true, "JSON": true,
	"LHS": true, "QPS": true, "RAM": true, "RHS": true, "RPC": true, "SKU": true, "SLA": true,
	"SMTP": true, "SQL": true, "SSH": true, "TCP": true, "TLS": true, "TTL": true, "UDP": true,
	"UI": true, "UID": true, "URI": true, "URL": true, "UTF8": true, "UUID": true, "VM": true,
	"XML": true, "XMPP": true, "XSRF": true, "XSS": true,
}

// words splits a database name into words at underscores, where a
// lower-case letter or digit meets an upper-case one (orgId, OrgID), and
// before the last capital of a run a lower-case letter follows (HTTPStatus).
func words(s string) []string {
	var out []string
	for _, part := range strings.Split(s, "_") {
		start := 0
		rs := []rune(part)
		for i := 1; i < len(rs); i++ {
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsUpper(rs[i]) && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]) || unicode.IsUpper(rs[i-1]) && nextLower) {
				out = append(out, string(rs[start:i]))
				start = i
			}
		}
		if start < len(rs) {
			out = append(out, string(rs[start:]))
		}
	}
	return out
}

// goName turns a database name into an exported Go identifier: org_id ->
// OrgID, select -> Select, 2fa_code -> X2faCode. An exported name is
// never a keyword, so reserved words of SQL and Go need nothing more.
func goName(s string) string {
	var b strings.Builder
	for _, w := range words(s) {
		if up := strings.ToUpper(w); initialisms[up] {
			b.WriteString(up)
			continue
		}
		lw := strings.ToLower(w)
		b.WriteString(strings.ToUpper(lw[:1]) + lw[1:])
	}
	name := b.String()
	if name == "" || !unicode.IsLetter(rune(name[0])) {
		name = "X" + name
	}
	return name
}

// singular undoes the generator's plural (users -> user, categories ->
// category, addresses -> address) on the last word of a table name; a
// name that is not such a plural stays as it is.
func singular(table string) string {
	lower := strings.ToLower(table)
	switch {
	case strings.HasSuffix(lower, "ies") && len(table) > 3:
		return table[:len(table)-3] + "y"
	case strings.HasSuffix(lower, "sses"), strings.HasSuffix(lower, "xes"), strings.HasSuffix(lower, "zes"),
		strings.HasSuffix(lower, "ches"), strings.HasSuffix(lower, "shes"):
		return table[:len(table)-2]
	case strings.HasSuffix(lower, "ss"), strings.HasSuffix(lower, "us"), strings.HasSuffix(lower, "is"):
		return table // address, status, analysis: not plurals
	case strings.HasSuffix(lower, "s") && len(table) > 1:
		return table[:len(table)-1]
	}
	return table
}

// uniqueName returns name, or name with the smallest number from 2 that
// is not in taken; it records the result in taken.
func uniqueName(name string, taken map[string]bool) string {
	out := name
	for i := 2; taken[out]; i++ {
		out = name + strconv.Itoa(i)
	}
	taken[out] = true
	return out
}

// groupName is a unique_together group's name from its columns: the
// generator takes ^[a-z][a-z0-9_]*$.
func groupName(cols []string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.Join(cols, "_")) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		}
	}
	s := strings.Trim(b.String(), "_")
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		s = "g_" + s
	}
	return s
}

// The suffixes go build reads as a constraint (_test, _linux, _amd64), and
// the generator's own.
var (
	goosList   = strings.Fields("aix android darwin dragonfly freebsd hurd illumos ios js linux nacl netbsd openbsd plan9 solaris wasip1 windows zos")
	goarchList = strings.Fields("386 amd64 amd64p32 arm armbe arm64 arm64be loong64 mips mipsle mips64 mips64le mips64p32 mips64p32le ppc ppc64 ppc64le riscv riscv64 s390 s390x sparc sparc64 wasm")
)

// fileName is the file a table's model goes to: its name in lower case,
// changed where go build would skip the file or read a constraint in it.
func fileName(table string) string {
	base := strings.ToLower(strings.ReplaceAll(table, ".", "_"))
	if strings.HasPrefix(base, "_") {
		base = "table" + base // go build ignores files starting with _ or .
	}
	parts := strings.Split(base, "_")
	last := parts[len(parts)-1]
	special := last == "test" || last == "cachegen" || base == "generate"
	for _, s := range append(goosList, goarchList...) {
		if last == s {
			special = true
		}
	}
	if special {
		base += "_table"
	}
	return base + ".go"
}
