package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/filelink-dev/filelink-operator/test/framework"
)

// serveSubcommand makes the harness binary run a bare reference server instead.
const serveSubcommand = "__serve"

// process is a reference server the harness started and must stop.
type process struct {
	name string
	cmd  *exec.Cmd
	// kill cancels the context the process runs under, which SIGKILLs it.
	kill context.CancelFunc
	done chan struct{}
}

// newProcess prepares bin as a reference server for start. It outlives the call that
// starts it, so it runs under a context of its own, which only stop cancels.
func newProcess(name, bin string, args ...string) *process {
	ctx, kill := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return &process{name: name, cmd: cmd, kill: kill, done: make(chan struct{})}
}

func (p *process) start() error {
	if err := p.cmd.Start(); err != nil {
		p.kill()
		return fmt.Errorf("starting %s: %w", p.name, err)
	}
	go func() { _ = p.cmd.Wait(); p.kill(); close(p.done) }()
	return nil
}

// stop sends SIGTERM (nginx's fast shutdown, which also stops its workers) and kills
// the process if it lingers.
func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.kill()
		<-p.done
	}
}

func (p *process) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited", p.name)
	default:
		return nil
	}
}

// nginxConfig serves root on addr the way nginx serves static files in
// production: sendfile, and nginx's default access log (one line a request, written as
// it is answered) in a file, as the manager writes its audit log to a file in row 3; a
// peer that logged nothing would not be the same work. keepalive_requests is raised because its default
// (1000) would make nginx alone reconnect during the run. Every path nginx writes is in
// dir.
const nginxConfig = `daemon off;
master_process on;
worker_processes auto;
pid {{dir}}/nginx.pid;
error_log {{dir}}/error.log warn;
events { worker_connections 1024; }
http {
    access_log {{dir}}/access.log combined;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 10000000;
    keepalive_timeout 75s;
    client_body_temp_path {{dir}}/client_body;
    proxy_temp_path {{dir}}/proxy;
    fastcgi_temp_path {{dir}}/fastcgi;
    uwsgi_temp_path {{dir}}/uwsgi;
    scgi_temp_path {{dir}}/scgi;
    default_type application/octet-stream;
    server {
        listen {{addr}};
        root {{root}};
    }
}
`

// startNginx runs nginx with a generated configuration; it returns (nil, nil) when
// nginx is not installed.
func startNginx(ctx context.Context, dir, root, addr string) (*process, error) {
	conf := strings.NewReplacer("{{dir}}", dir, "{{root}}", root, "{{addr}}", addr).Replace(nginxConfig)
	return runNginx(ctx, "nginx", dir, addr, conf)
}

// runNginx runs nginx named name with configuration conf, every path of it in dir, until
// it listens on addr; it returns (nil, nil) when nginx is not installed.
func runNginx(ctx context.Context, name, dir, addr, conf string) (*process, error) {
	bin := nginxPath()
	if bin == "" {
		return nil, nil
	}
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	p := newProcess(name, bin, "-p", dir, "-c", path, "-e", filepath.Join(dir, "error.log"))
	var out bytes.Buffer
	p.cmd.Stdout, p.cmd.Stderr = &out, &out
	if err := p.start(); err != nil {
		return nil, err
	}
	if err := waitListening(ctx, addr, p); err != nil {
		p.stop()
		log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return nil, fmt.Errorf("%s: %w: %s%s", name, err, out.String(), log)
	}
	return p, nil
}

// nginxPath finds nginx on PATH, or where Debian installs it: /usr/sbin is not on
// every user's PATH.
func nginxPath() string {
	if bin, err := exec.LookPath("nginx"); err == nil {
		return bin
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	return ""
}

func nginxVersion(ctx context.Context) string {
	bin := nginxPath()
	if bin == "" {
		return ""
	}
	out, err := exec.CommandContext(ctx, bin, "-v").CombinedOutput()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.TrimPrefix(string(out), "nginx version: "))
}

// startBareServer runs this binary as a bare net/http server of file on addr: "memory"
// serves a []byte with http.ServeContent; "file" opens the file for each request, so
// ServeContent's copy goes through sendfile.
func startBareServer(ctx context.Context, mode, file, addr string) (*process, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	p := newProcess("bare "+mode+" server", self, serveSubcommand, "-mode", mode, "-file", file, "-addr", addr)
	p.cmd.Stdout, p.cmd.Stderr = os.Stderr, os.Stderr
	if err := p.start(); err != nil {
		return nil, err
	}
	if err := waitListening(ctx, addr, p); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

func waitListening(ctx context.Context, addr string, p *process) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return framework.WaitListening(ctx, addr, p.exited)
}

// serveMain is the bare reference server's process. It exits when its parent does
// (Pdeathsig) or on SIGTERM.
func serveMain(args []string) int {
	fs := flag.NewFlagSet(serveSubcommand, flag.ContinueOnError)
	mode := fs.String("mode", "memory", "memory or file")
	file := fs.String("file", "", "the file to serve")
	addr := fs.String("addr", "127.0.0.1:0", "where to listen")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	h, err := bareHandler(*mode, *file)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bare server:", err)
		return 1
	}
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown(context.Background())
	}()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "bare server:", err)
		return 1
	}
	return 0
}

func bareHandler(mode, file string) (http.Handler, error) {
	info, err := os.Stat(file)
	if err != nil {
		return nil, err
	}
	modified := info.ModTime()
	switch mode {
	case "memory":
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			http.ServeContent(w, r, "", modified, bytes.NewReader(data))
		}), nil
	case "file":
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f, err := os.Open(file)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			defer f.Close()
			w.Header().Set("Content-Type", "application/octet-stream")
			http.ServeContent(w, r, "", modified, f)
		}), nil
	}
	return nil, fmt.Errorf("unknown mode %q", mode)
}
