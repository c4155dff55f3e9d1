// Package s3server runs SeaweedFS (`weed mini`) on loopback as a real S3-compatible
// server for tests: versioning, Range, If-Match, SigV4 and presigned URLs all behave as
// the S3 API says, which no in-process fake guarantees (SPEC §10).
package s3server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// BinaryEnv names the environment variable that points at a weed binary; when it is
// unset, Binary builds one with hack/seaweedfs.sh (only when missing from its cache).
const BinaryEnv = "SEAWEEDFS_BIN"

// Region is the region the server accepts in signatures.
const Region = "us-east-1"

// Server is one running `weed mini`, with its own data directory and ports.
type Server struct {
	// Endpoint is the S3 API's URL, http://127.0.0.1:PORT.
	Endpoint string
	// AccessKeyID and SecretAccessKey are the credentials of the server's one identity,
	// an admin, generated for this server.
	AccessKeyID, SecretAccessKey string
	// Client is signed in with those credentials, for tests to create and write objects.
	Client *minio.Client

	cmd *exec.Cmd
	// kill cancels the context the process runs under, which SIGKILLs its process group.
	kill context.CancelFunc
	// done is closed when the process has exited; exitErr is then its Wait error.
	done    chan struct{}
	exitErr error
	dir     string
	master  string
}

// Options say how to start a Server.
type Options struct {
	// Output receives the server's logs; nil discards them.
	Output io.Writer
	// StartTimeout bounds the wait until S3 answers and volumes can be written; 0 means 60s.
	StartTimeout time.Duration
}

// Binary returns the path of the weed binary: $SEAWEEDFS_BIN, else the one
// hack/seaweedfs.sh prints, which it builds first when its cache has none (several
// minutes, once per machine).
func Binary(ctx context.Context) (string, error) {
	if p := os.Getenv(BinaryEnv); p != "" {
		return p, nil
	}
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(repoRoot(), "hack", "seaweedfs.sh"))
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("hack/seaweedfs.sh: %w", err)
	}
	return string(bytes.TrimSpace(stdout.Bytes())), nil
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// Start runs `weed mini` on loopback with every port chosen free and set explicitly,
// telemetry, WebDAV and the admin UI off, and waits until S3 answers and a volume can
// be written. Stop it with Stop.
func Start(ctx context.Context, opts Options) (*Server, error) {
	bin, err := Binary(ctx)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "s3server-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, done: make(chan struct{}), AccessKeyID: "admin-" + randomHex(8), SecretAccessKey: randomHex(20)}
	if err := s.start(ctx, bin, opts); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) start(ctx context.Context, bin string, opts Options) error {
	identities := filepath.Join(s.dir, "identities.json")
	if err := writeIdentities(identities, s.AccessKeyID, s.SecretAccessKey); err != nil {
		return err
	}
	data := filepath.Join(s.dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		return err
	}
	ports, err := freePorts(ctx, 10)
	if err != nil {
		return err
	}
	p := func(i int) string { return strconv.Itoa(ports[i]) }
	s.Endpoint = "http://127.0.0.1:" + p(0)
	s.master = "127.0.0.1:" + p(2)
	args := []string{"mini",
		"-dir=" + data, "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-s3.port=" + p(0), "-s3.port.grpc=" + p(1), "-s3.config=" + identities,
		"-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.port.https=0",
		"-s3.localSocket=" + filepath.Join(s.dir, "s3.sock"),
		"-s3.autoCreateBucket=false",
		"-master.port=" + p(2), "-master.port.grpc=" + p(3), "-master.telemetry=false",
		"-volume.port=" + p(4), "-volume.port.grpc=" + p(5),
		"-filer.port=" + p(6), "-filer.port.grpc=" + p(7),
		"-filer.localSocket=" + filepath.Join(s.dir, "filer.sock"),
		"-admin.ui=false", "-admin.port=" + p(8), "-admin.port.grpc=" + p(9), "-admin.port.legacy=0",
		"-webdav=false",
	}
	// The server outlives ctx, which bounds only its start: it runs under a context of
	// its own, which Stop cancels once SIGTERM and the grace period have not ended it.
	procCtx, kill := context.WithCancel(context.Background())
	s.cmd, s.kill = exec.CommandContext(procCtx, bin, args...), kill
	s.cmd.Cancel = func() error { return syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL) }
	s.cmd.Dir = s.dir
	out := opts.Output
	if out == nil {
		out = io.Discard
	}
	s.cmd.Stdout, s.cmd.Stderr = out, out
	// Its own process group, so Stop reaches whatever it spawns; and it dies with the
	// test binary, should that exit without calling Stop.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		kill()
		return fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() { s.exitErr = s.cmd.Wait(); kill(); close(s.done) }()

	u := s.Endpoint[len("http://"):]
	s.Client, err = minio.New(u, &minio.Options{
		Creds:        credentials.NewStaticV4(s.AccessKeyID, s.SecretAccessKey, ""),
		Region:       Region,
		BucketLookup: minio.BucketLookupPath,
		MaxRetries:   1,
	})
	if err != nil {
		return err
	}
	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	return s.waitReady(ctx, timeout)
}

// waitReady polls until S3 lists buckets with the credentials and the master can assign
// a file id, which means a volume server has joined: only then do writes succeed.
func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		select {
		case <-s.done:
			err := s.exitErr
			return fmt.Errorf("weed mini exited before it was ready: %w", err)
		case <-ctx.Done():
			return fmt.Errorf("weed mini not ready within %s: %w", timeout, last)
		case <-time.After(100 * time.Millisecond):
		}
		if _, last = s.Client.ListBuckets(ctx); last != nil {
			continue
		}
		if last = s.assignable(ctx); last == nil {
			return nil
		}
	}
}

func (s *Server) assignable(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.master+"/dir/assign", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var answer struct {
		Fid   string `json:"fid"`
		Error string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return err
	}
	if answer.Fid == "" {
		return fmt.Errorf("master cannot assign yet: %s", answer.Error)
	}
	return nil
}

// CreateBucket creates a bucket, with versioning enabled when versioned is set.
func (s *Server) CreateBucket(ctx context.Context, name string, versioned bool) error {
	if err := s.Client.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: Region}); err != nil {
		return fmt.Errorf("creating bucket %s: %w", name, err)
	}
	if versioned {
		if err := s.Client.EnableVersioning(ctx, name); err != nil {
			return fmt.Errorf("enabling versioning on %s: %w", name, err)
		}
	}
	return nil
}

// Put writes body under key and returns what the server reports of the new object.
func (s *Server) Put(ctx context.Context, bucket, key string, body []byte, contentType string) (minio.UploadInfo, error) {
	return s.Client.PutObject(ctx, bucket, key, bytes.NewReader(body), int64(len(body)),
		minio.PutObjectOptions{ContentType: contentType, DisableMultipart: true})
}

// Stop ends the server and its process group, and removes its data directory.
func (s *Server) Stop() error {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			// On a loaded machine weed can take longer to flush and exit; its data
			// directory is thrown away below, so nothing is lost by killing it, and a
			// test that passed must not fail for it.
			s.kill()
			<-s.done
		}
	}
	return os.RemoveAll(s.dir)
}

func writeIdentities(path, accessKey, secretKey string) error {
	type credential struct {
		AccessKey string `json:"accessKey"`
		SecretKey string `json:"secretKey"`
	}
	type identity struct {
		Name        string       `json:"name"`
		Credentials []credential `json:"credentials"`
		Actions     []string     `json:"actions"`
	}
	cfg := struct {
		Identities []identity `json:"identities"`
	}{[]identity{{Name: "admin", Credentials: []credential{{accessKey, secretKey}}, Actions: []string{"Admin", "Read", "List", "Tagging", "Write"}}}}
	b, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// freePorts returns n distinct loopback ports that were free a moment ago: all held open
// together, so none repeats, then released for the server to bind.
func freePorts(ctx context.Context, n int) ([]int, error) {
	ports := make([]int, 0, n)
	var lc net.ListenConfig
	for range n {
		l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
