package main

import (
	"context"
	"os"
	"strings"
)

// nginxProxyConfig is the reverse proxy a user would put in front of an S3 server
// instead of the link server (SPEC §9 row 7's peer): proxy_pass to the store over
// HTTP/1.1 with keep-alive connections to it, the Host header the presigned URL was
// signed for, no access log, and proxy_buffering as chosen (nginx's default is on). The
// request's path and query, the presigned signature among them, pass through unchanged.
// Every path nginx writes, buffered bodies among them, is in dir.
const nginxProxyConfig = `daemon off;
master_process on;
worker_processes auto;
pid {{dir}}/nginx.pid;
error_log {{dir}}/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 75s;
    client_body_temp_path {{dir}}/client_body;
    proxy_temp_path {{dir}}/proxy;
    fastcgi_temp_path {{dir}}/fastcgi;
    uwsgi_temp_path {{dir}}/uwsgi;
    scgi_temp_path {{dir}}/scgi;
    upstream s3 {
        server {{upstream}};
        keepalive 32;
    }
    server {
        listen {{addr}};
        location / {
            proxy_pass http://s3;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host {{upstream}};
            proxy_buffering {{buffering}};
        }
    }
}
`

// proxyBufferings are the values of --large-proxy-buffering: one of nginx's two modes,
// or both, measured in every round, the faster counting.
var proxyBufferings = map[string][]string{"on": {"on"}, "off": {"off"}, "both": {"on", "off"}}

// startNginxProxy runs nginx as a reverse proxy of upstream (host:port) on addr with
// proxy_buffering set to buffering ("on" or "off"); it returns (nil, nil) when nginx is
// not installed.
func startNginxProxy(ctx context.Context, dir, addr, upstream, buffering string) (*process, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	conf := strings.NewReplacer("{{dir}}", dir, "{{addr}}", addr, "{{upstream}}", upstream, "{{buffering}}", buffering).Replace(nginxProxyConfig)
	return runNginx(ctx, "nginx proxy (buffering "+buffering+")", dir, addr, conf)
}

// proxyPeer is one nginx proxy_pass in front of the S3 server, with its best round.
type proxyPeer struct {
	buffering string
	url       string
	proc      *process
	best      largeRun
}
