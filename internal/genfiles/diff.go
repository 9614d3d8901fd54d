package genfiles

import (
	"fmt"
	"strings"
)

// Diff returns the first max changed lines between a and b, as - and +
// lines with their line numbers: enough to see what drifted, not a patch.
func Diff(a, b string, max int) string {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	// Longest common subsequence, the classic table; generated files are
	// a few hundred lines, so n*m is small.
	lcs := make([][]int32, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int32, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max32(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	shown := 0
	emit := func(sign byte, n int, line string) {
		if shown < max {
			fmt.Fprintf(&out, "\t%c%4d  %s\n", sign, n, line)
		}
		shown++
	}
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			i, j = i+1, j+1
		case j < len(y) && (i == len(x) || lcs[i][j+1] >= lcs[i+1][j]):
			emit('+', j+1, y[j])
			j++
		default:
			emit('-', i+1, x[i])
			i++
		}
	}
	if shown > max {
		fmt.Fprintf(&out, "\t... and %d more changed lines\n", shown-max)
	}
	return out.String()
}

func max32(a, b int32) int32 {
	if a > b {
		return a
	}
	return b
}
