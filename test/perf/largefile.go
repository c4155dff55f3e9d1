package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/test/framework"
	"github.com/filelink-dev/filelink-operator/test/framework/s3server"
)

const (
	largeBucket = "bench-large"
	largeKey    = "evidence/large.bin"
	// rssSampleEvery is how often the manager's RSS is read while it serves: often
	// enough to catch a peak of a download that takes a second.
	rssSampleEvery = 20 * time.Millisecond
)

// largeRun is one round of concurrent downloads of the whole object.
type largeRun struct {
	elapsed time.Duration
	bytes   int64
}

func (r largeRun) mibPerSecond() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.bytes) / (1 << 20) / r.elapsed.Seconds()
}

// measureLargeFile serves one large object from SeaweedFS through a FileStore (SPEC §10)
// and compares the link server's throughput with downloads straight from SeaweedFS (a
// presigned GET, so both are one plain HTTP GET of the same bytes), each the best of
// the rounds, and reads how much the manager's RSS grows while it streams.
func (b *bench) measureLargeFile(ctx context.Context) error {
	if err := b.ensureManager(ctx); err != nil {
		return err
	}
	b.logf("large file: starting SeaweedFS (built once per machine when missing)")
	s3, err := s3server.Start(ctx, s3server.Options{})
	if err != nil {
		return err
	}
	defer func() { _ = s3.Stop() }()
	data := make([]byte, b.cfg.largeBytes)
	if _, err := rand.Read(data); err != nil {
		return err
	}
	want := sha256.Sum256(data)
	if err := s3.CreateBucket(ctx, largeBucket, false); err != nil {
		return err
	}
	if _, err := s3.Put(ctx, largeBucket, largeKey, data, "application/octet-stream"); err != nil {
		return err
	}
	direct, err := s3.Client.PresignedGetObject(ctx, largeBucket, largeKey, time.Hour, nil)
	if err != nil {
		return err
	}
	ours, err := b.largeLink(ctx, s3)
	if err != nil {
		return err
	}
	if _, err := b.mgr.WaitQuiet(ctx, 3*time.Minute); err != nil {
		return err
	}

	peers, stopPeers, err := b.startProxyPeers(ctx, direct.Host, direct.RequestURI())
	defer stopPeers()
	if err != nil {
		return err
	}

	ph := b.beginPhase(ctx, "large file downloads (all rounds)")
	defer ph.end(ctx)
	var bestDirect, bestOurs largeRun
	rssBefore, _, err := memoryBytes(b.mgr.PID())
	if err != nil {
		return err
	}
	var rssPeak int64
	for round := 1; round <= b.cfg.largeRounds; round++ {
		d, err := downloadConcurrently(ctx, direct.String(), b.cfg.largeConns, want)
		if err != nil {
			return fmt.Errorf("straight from SeaweedFS: %w", err)
		}
		var line strings.Builder
		fmt.Fprintf(&line, "large file: round %d  SeaweedFS %.0f MiB/s", round, d.mibPerSecond())
		for _, p := range peers {
			r, err := downloadConcurrently(ctx, p.url, b.cfg.largeConns, want)
			if err != nil {
				return fmt.Errorf("through nginx (proxy_buffering %s): %w", p.buffering, err)
			}
			fmt.Fprintf(&line, "  nginx proxy (buffering %s) %.0f MiB/s", p.buffering, r.mibPerSecond())
			if r.mibPerSecond() > p.best.mibPerSecond() {
				p.best = r
			}
		}
		var o largeRun
		peak, err := peakRSS(b.mgr.PID(), func() error {
			o, err = downloadConcurrently(ctx, ours, b.cfg.largeConns, want)
			return err
		})
		if err != nil {
			return fmt.Errorf("through the link server: %w", err)
		}
		rssPeak = max(rssPeak, peak)
		b.logf("%s  link server %.0f MiB/s  manager RSS peak %.1f MiB", line.String(), o.mibPerSecond(), mib(peak))
		if d.mibPerSecond() > bestDirect.mibPerSecond() {
			bestDirect = d
		}
		if o.mibPerSecond() > bestOurs.mibPerSecond() {
			bestOurs = o
		}
	}
	b.reportLargeFile(peers, bestDirect, bestOurs, rssBefore, rssPeak)
	return nil
}

// startProxyPeers starts nginx as a reverse proxy of the S3 server (at host) once per
// proxy_buffering mode --large-proxy-buffering asks for, each serving the object at
// requestURI, the presigned path and query. With nginx missing there are none.
func (b *bench) startProxyPeers(ctx context.Context, host, requestURI string) ([]*proxyPeer, func(), error) {
	var peers []*proxyPeer
	stop := func() {
		for _, p := range peers {
			p.proc.stop()
			delete(b.serverPIDs, "nginx proxy (buffering "+p.buffering+")")
		}
	}
	modes := proxyBufferings[b.cfg.largeProxyBuffering]
	addrs, err := framework.FreeAddrs(len(modes))
	if err != nil {
		return nil, stop, err
	}
	for i, mode := range modes {
		p, err := startNginxProxy(ctx, filepath.Join(b.tmp, "nginx-proxy-"+mode), addrs[i], host, mode)
		if err != nil {
			return peers, stop, err
		}
		if p == nil {
			fmt.Fprintln(os.Stderr, "nginx not found: apt-get install nginx-light")
			return nil, stop, nil
		}
		peers = append(peers, &proxyPeer{buffering: mode, url: "http://" + addrs[i] + requestURI, proc: p})
		if b.serverPIDs == nil {
			b.serverPIDs = map[string]int{}
		}
		b.serverPIDs["nginx proxy (buffering "+mode+")"] = p.cmd.Process.Pid
	}
	return peers, stop, nil
}

func (b *bench) reportLargeFile(peers []*proxyPeer, bestDirect, bestOurs largeRun, rssBefore, rssPeak int64) {
	growth := rssPeak - rssBefore
	toDirect := ratio(bestOurs.mibPerSecond(), bestDirect.mibPerSecond())
	r := row{id: "7", target: "≥ 1.2 × nginx proxy_pass in front of the same S3 server; RSS growth ≤ 32 MiB",
		what: fmt.Sprintf("Large file from a FileStore (proxy delivery): %d MiB object in SeaweedFS, %d concurrent downloads, best of %d rounds; "+
			"the peer is nginx proxy_pass in front of the same SeaweedFS object (its presigned path), same HTTP client, same run",
			b.cfg.largeBytes>>20, b.cfg.largeConns, b.cfg.largeRounds)}
	var peer *proxyPeer
	var peerLines []string
	for _, p := range peers {
		peerLines = append(peerLines, fmt.Sprintf("proxy_buffering %s %.0f MiB/s", p.buffering, p.best.mibPerSecond()))
		if peer == nil || p.best.mibPerSecond() > peer.best.mibPerSecond() {
			peer = p
		}
	}
	result := fmt.Sprintf("link server %.0f MiB/s", bestOurs.mibPerSecond())
	if peer != nil {
		toPeer := ratio(bestOurs.mibPerSecond(), peer.best.mibPerSecond())
		which := "proxy_buffering " + peer.buffering
		if len(peers) == 1 && peer.buffering == "on" {
			which += " (nginx's default; the faster of on and off measured by hand here; --large-proxy-buffering both measures both)"
		}
		if len(peers) > 1 {
			which += " (the faster of: " + strings.Join(peerLines, ", ") + ")"
		}
		result += fmt.Sprintf("; nginx proxy_pass %.0f MiB/s, %s → **ratio %.2f**", peer.best.mibPerSecond(), which, toPeer)
		r.status = verdict(true, toPeer >= 1.2 && growth <= 32<<20)
	} else {
		result += "; nginx not found (apt-get install nginx-light): the peer was not measured"
	}
	result += fmt.Sprintf("; straight from SeaweedFS %.0f MiB/s → ratio to direct %.2f; manager RSS %.1f → peak %.1f MiB while serving, **growth %.1f MiB**",
		bestDirect.mibPerSecond(), toDirect, mib(rssBefore), mib(rssPeak), mib(growth))
	if peer != nil {
		result += fmt.Sprintf("; nginx proxy/direct %.2f", ratio(peer.best.mibPerSecond(), bestDirect.mibPerSecond()))
	}
	r.result = result
	b.rep.set(r)
	b.rep.note(fmt.Sprintf("large file: every download's SHA-256 was checked against the object's; the straight downloads use a presigned GET "+
		"with the same HTTP client, and nginx is given the same presigned path and query (proxy_pass to SeaweedFS over HTTP/1.1 with upstream keep-alive, "+
		"the signed Host header, no access log; proxy_buffering %s); SeaweedFS (`weed mini`, one process, on loopback) shares the %d CPUs with the manager, nginx and the client; "+
		"each round downloads straight, then through nginx, then through the link server; RSS sampled every %s during the link server's rounds",
		b.cfg.largeProxyBuffering, nproc(), rssSampleEvery))
}

// largeLink creates the FileStore, its credentials, a File of the object and a link to
// it, and returns the link's URL once it is Ready.
func (b *bench) largeLink(ctx context.Context, s3 *s3server.Server) (string, error) {
	c, ns := b.clients.ctrl, nsLarge
	creds := framework.Secret(ns, "s3-reader", map[string][]byte{
		filelinkv1.CredentialsAccessKeyID: []byte(s3.AccessKeyID), filelinkv1.CredentialsSecretAccessKey: []byte(s3.SecretAccessKey)})
	store := &filelinkv1.FileStore{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "evidence"},
		Spec: filelinkv1.FileStoreSpec{S3: filelinkv1.S3Bucket{
			Endpoint: s3.Endpoint, AllowInsecureHTTP: true, Region: s3server.Region, Bucket: largeBucket, ForcePathStyle: true,
			Credentials: filelinkv1.S3Credentials{SecretName: creds.Name},
		}},
	}
	file := &filelinkv1.File{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "large"},
		Spec: filelinkv1.FileSpec{Purpose: filelinkv1.PurposeDisputeEvidence,
			Source: filelinkv1.FileSource{Store: &filelinkv1.StoreObjectSelector{Name: store.Name, Key: largeKey}}},
	}
	if err := create(ctx, c, creds); err != nil {
		return "", err
	}
	if err := create(ctx, c, store); err != nil {
		return "", err
	}
	if err := create(ctx, c, file); err != nil {
		return "", err
	}
	if err := create(ctx, c, framework.Link(ns, "large", file.Name, nil)); err != nil {
		return "", err
	}
	// Hashing 100 MiB the first time takes a while on two shared cores.
	if _, err := b.tracker.waitReady(ctx, ns, 1, 5*time.Minute, b.mgr.Exited); err != nil {
		return "", err
	}
	return b.tracker.urls(ns)[0], nil
}

// downloadConcurrently fetches url conns times at once with plain net/http and checks
// every body against want.
func downloadConcurrently(ctx context.Context, url string, conns int, want [32]byte) (largeRun, error) {
	client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: conns}}
	defer client.CloseIdleConnections()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int64
		errs  []error
	)
	start := time.Now()
	for range conns {
		wg.Go(func() {
			n, err := downloadOnce(ctx, client, url, want)
			mu.Lock()
			defer mu.Unlock()
			total += n
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	return largeRun{elapsed: time.Since(start), bytes: total}, errors.Join(errs...)
}

func downloadOnce(ctx context.Context, client *http.Client, url string, want [32]byte) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil {
		return n, err
	}
	if [32]byte(h.Sum(nil)) != want {
		return n, errors.New("the body is not the object's bytes")
	}
	return n, nil
}

// peakRSS runs fn and returns the highest RSS of pid sampled meanwhile.
func peakRSS(pid int, fn func() error) (int64, error) {
	done := make(chan struct{})
	peak := make(chan int64, 1)
	go func() {
		var highest int64
		t := time.NewTicker(rssSampleEvery)
		defer t.Stop()
		for {
			if rss, _, err := memoryBytes(pid); err == nil {
				highest = max(highest, rss)
			}
			select {
			case <-done:
				peak <- highest
				return
			case <-t.C:
			}
		}
	}()
	err := fn()
	close(done)
	return <-peak, err
}
