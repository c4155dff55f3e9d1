// Command release does the parts of `make release` that need more than a shell: it
// packages the Helm chart for a version, pinned to an image digest, byte for byte the
// same on every run of the same commit, and writes SHA256SUMS. hack/release.sh runs it.
//
//	go run . chart --chart DIR --version 0.1.0 --app-version v0.1.0 \
//	  --image-repository REPO --image-digest sha256:... --epoch SECONDS --output DIR
//	go run . sums DIR FILE...
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fatalf("usage: release chart FLAGS... | release sums DIR FILE...")
	}
	var err error
	switch os.Args[1] {
	case "chart":
		err = packageChartCommand(os.Args[2:])
	case "sums":
		if len(os.Args) < 4 {
			fatalf("usage: release sums DIR FILE...")
		}
		err = writeSums(os.Args[2], os.Args[3:])
	default:
		fatalf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "release: "+format+"\n", args...)
	os.Exit(1)
}
