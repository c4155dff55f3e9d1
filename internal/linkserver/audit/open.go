package audit

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Destinations of --audit-log besides a file path.
const (
	Stdout = "stdout"
	Off    = "off"
)

// CheckDestination refuses a --audit-log value that names nothing to write to.
func CheckDestination(dest string) error {
	if dest == "" {
		return errors.New(`must be "stdout", "off" or a file path`)
	}
	return nil
}

// Open opens --audit-log's destination: stdout, a file appended to (created readable by
// the manager alone: the log says who downloaded what), or nil for off. Closing it does
// not close stdout.
func Open(dest string) (io.WriteCloser, error) {
	switch dest {
	case Off:
		return nil, nil
	case Stdout:
		return nopCloser{os.Stdout}, nil
	}
	if err := CheckDestination(dest); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the audit log: %w", err)
	}
	return f, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// Replica names this replica in audit lines: POD_NAME, which the chart sets from the
// pod's name, or else the host name, which is the pod's name too unless the pod sets
// another.
func Replica() string {
	if name := os.Getenv("POD_NAME"); name != "" {
		return name
	}
	name, _ := os.Hostname()
	return name
}
