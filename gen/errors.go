package gen

import (
	"fmt"
	"go/token"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Error is one problem found while loading or analysing a package: a Go
// load, parse or type error, or a cachegen error in a model.
type Error struct {
	Pos  token.Position // Filename is absolute when known
	Msg  string
	Hint string // how to fix it; empty when there is nothing useful to add
}

// Error returns "file:line:col: msg", followed by "\n\thint: " + Hint when
// there is a hint. Parts of the position that are unknown are left out.
func (e *Error) Error() string {
	var b strings.Builder
	if p := posString(e.Pos); p != "" {
		b.WriteString(p)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Hint != "" {
		b.WriteString("\n\thint: ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// posString formats p as file:line:col, leaving out what is unknown.
func posString(p token.Position) string {
	s := p.Filename
	if p.Line > 0 {
		if s != "" {
			s += ":"
		}
		s += strconv.Itoa(p.Line)
		if p.Column > 0 {
			s += ":" + strconv.Itoa(p.Column)
		}
	}
	return s
}

// ErrorList is every error found by Load, sorted by position.
type ErrorList []*Error

// Error returns all the errors, one per line (a hint adds a line of its own).
func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// sortAndDedup sorts the list by position (then message) and drops exact
// duplicates, which go/packages may report twice (e.g. for a package seen
// both as a root and as a dependency).
func (l ErrorList) sortAndDedup() ErrorList {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i].Pos, l[j].Pos
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		return l[i].Msg < l[j].Msg
	})
	out := l[:0]
	for i, e := range l {
		if i > 0 {
			p := l[i-1]
			if p.Pos.Filename == e.Pos.Filename && p.Pos.Line == e.Pos.Line &&
				p.Pos.Column == e.Pos.Column && p.Msg == e.Msg && p.Hint == e.Hint {
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

var (
	posLineCol = regexp.MustCompile(`^(.*):(\d+):(\d+)$`)
	posLine    = regexp.MustCompile(`^(.*):(\d+)$`)
)

// parsePos parses a go/packages position: "file:line:col", "file:line",
// "file", "" or "-". A relative file name is taken relative to dir.
func parsePos(s, dir string) token.Position {
	var p token.Position
	s = strings.TrimSpace(s)
	if s == "" || s == "-" {
		return p
	}
	if m := posLineCol.FindStringSubmatch(s); m != nil {
		p.Filename = m[1]
		p.Line, _ = strconv.Atoi(m[2])
		p.Column, _ = strconv.Atoi(m[3])
	} else if m := posLine.FindStringSubmatch(s); m != nil {
		p.Filename = m[1]
		p.Line, _ = strconv.Atoi(m[2])
	} else {
		p.Filename = s
	}
	if p.Filename != "" && !filepath.IsAbs(p.Filename) && dir != "" {
		p.Filename = filepath.Join(dir, p.Filename)
	}
	return p
}

// errorf builds an Error at pos.
func errorf(pos token.Position, hint, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...), Hint: hint}
}
