# Build the manager binary.
FROM golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH
WORKDIR /workspace
# Modules first, so source edits do not invalidate the download layer.
COPY go.mod go.sum ./
RUN go mod download
# Every file of package main (main.go and its helpers).
COPY *.go ./
COPY api/ api/
COPY controllers/ controllers/
COPY internal/ internal/
# A static binary: no libc in the runtime image.
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath -ldflags="-s -w" -o manager .

# Nothing but the binary: no shell, no package manager, no libc. The manager needs no
# system CA bundle: it trusts the cluster's CA from its service account.
FROM scratch
COPY --from=builder /workspace/manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]
