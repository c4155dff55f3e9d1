package content

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// memfilesWork: Linux has memfd_create (since 3.17); a failure falls back to a slice.
const memfilesWork = true

// memfile stores data in an anonymous memory-backed file: no disk, no name in any
// filesystem, freed when the last descriptor closes.
func memfile(data []byte) (*os.File, error) {
	fd, err := unix.MemfdCreate("filelink-body", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "filelink-body")
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// reopen opens a second description of f, with an offset of its own: a dup would share
// the offset, and sendfile reads from the current offset.
func reopen(f *os.File) (*os.File, error) {
	return os.Open(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
}
