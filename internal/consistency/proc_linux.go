package consistency

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill cmd when the checker exits, however it
// exits, so that no redis-server of its own outlives it.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
