//go:build !linux

package content

import (
	"errors"
	"os"
)

func memfile([]byte) (*os.File, error) { return nil, errors.New("memfd is Linux-only") }

func reopen(*os.File) (*os.File, error) { return nil, errors.New("memfd is Linux-only") }
