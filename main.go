// Command manager runs the filelink-operator: the File and FileLink reconcilers and,
// on every replica, the link server. The process itself is internal/app; this file
// only reads the flags and runs it.
package main

import (
	"flag"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/filelink-dev/filelink-operator/internal/app"
)

func main() {
	var o app.Options
	o.AddFlags(flag.CommandLine)
	zapOpts := zap.Options{Development: false}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	if err := app.Run(ctrl.SetupSignalHandler(), o); err != nil {
		ctrl.Log.Error(err, "manager exited with an error")
		os.Exit(1)
	}
}
