//go:build !linux

package consistency

import "os/exec"

// dieWithParent is a no-op where the kernel cannot tie a child's life to
// its parent's; the checker still stops its redis-server when it returns.
func dieWithParent(*exec.Cmd) {}
