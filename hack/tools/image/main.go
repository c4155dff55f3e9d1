// Command image assembles the manager's container image without a container engine:
// static binaries, one per platform, on an empty base, written as one tarball that
// `docker load`, `kind load image-archive` and `ctr import` all accept.
//
//	go run . --image filelink-operator:latest --output image.tar \
//	  --binary linux/amd64=../../../bin/linux_amd64/manager \
//	  --binary linux/arm64=../../../bin/linux_arm64/manager
//
// `verify FILE` opens such a tarball and checks what build promises (make image runs it);
// `digest FILE` prints the digest of its image index, which a registry that receives the
// image names it by (make release pins the installers to it).
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	if len(os.Args) == 3 && os.Args[1] == "digest" {
		r, err := Inspect(os.Args[2])
		if err != nil {
			fatalf("%v", err)
		}
		fmt.Println(r.Digest)
		return
	}
	if len(os.Args) == 3 && os.Args[1] == "verify" {
		r, err := Inspect(os.Args[2])
		if err == nil {
			err = r.CheckManager()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "image:", err)
			os.Exit(1)
		}
		fmt.Printf("%s: %s (%s), platforms %s, user %s, entrypoint %v\n", os.Args[2], r.Name, r.Digest, strings.Join(r.Platforms(), " "), r.User(), r.Entrypoint())
		return
	}

	var o Options
	var binaries, labels listFlag
	flag.StringVar(&o.Name, "image", "filelink-operator:latest", "Image reference the tarball names (the IMG of the Makefile).")
	flag.StringVar(&o.Output, "output", "image.tar", "Tarball to write.")
	flag.Var(&binaries, "binary", "OS/ARCH=PATH of a static manager binary; repeat per platform.")
	flag.Var(&labels, "label", "KEY=VALUE image label; repeatable.")
	flag.StringVar(&o.CABundle, "ca-bundle", "", "PEM file installed as /etc/ssl/certs/ca-certificates.crt, for TLS to servers outside the cluster (object storage); empty: none.")
	flag.StringVar(&o.DockerPlatform, "docker-platform", "linux/amd64", "Platform listed in manifest.json, for `docker load` versions that do not read index.json.")
	flag.Parse()

	o.Binaries = map[string]string{}
	for _, b := range binaries {
		p, path, ok := strings.Cut(b, "=")
		if !ok {
			fatalf("--binary %q: want OS/ARCH=PATH", b)
		}
		o.Binaries[p] = path
	}
	o.Labels = map[string]string{}
	for _, l := range labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			fatalf("--label %q: want KEY=VALUE", l)
		}
		o.Labels[k] = v
	}
	if err := Build(o); err != nil {
		fatalf("%v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "image: "+format+"\n", args...)
	os.Exit(1)
}
