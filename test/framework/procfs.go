package framework

import (
	"time"

	"github.com/prometheus/procfs"
)

// CPUTime is the user plus system CPU time process pid has used.
func CPUTime(pid int) (time.Duration, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, err
	}
	st, err := p.Stat()
	if err != nil {
		return 0, err
	}
	return time.Duration(st.CPUTime() * float64(time.Second)), nil
}
