// Package content holds the bodies of Files backed by a Secret or a ConfigMap: a cache
// bounded by total size, keyed by the source's UID, resourceVersion and entry (so no
// entry ever needs invalidating), filled ahead of downloads when a File becomes Ready
// and when its source changes (Prefetcher), and read per request, through one shared
// and time-bounded API read, only for what it does not hold (SPEC §5). It never
// decides whether a body may be served: callers name the version the decision allows.
package content
