// Package eventsink posts the reconcilers' events (events.k8s.io/v1) to the API server:
// one create per event, from a bounded queue, by a few workers.
//
// client-go's event broadcaster, which controller-runtime's recorders use, keeps every
// event it sent in a cache for six to twelve minutes, to merge repeats into a series.
// The reconcilers record an event only when a condition's reason changes, so there are
// no repeats to merge, and after creating 10,000 links that cache alone held about
// 20 MiB of the manager's memory (bench/RESULTS.md, row 4).
package eventsink

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/reference"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

const (
	// queueLength bounds the events waiting to be posted; beyond it events are dropped
	// and counted, as client-go's broadcaster drops them beyond its 1,000.
	queueLength = 1000
	// defaultWorkers post in parallel, so a burst (thousands of links issued at once)
	// drains at the API server's pace rather than one round trip at a time.
	defaultWorkers = 4
	// maxNoteBytes is the API server's limit on an event's note.
	maxNoteBytes = 1024
	postTimeout  = 10 * time.Second
)

var dropped = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "filelink_events_dropped_total",
	Help: "Events not posted because the queue to the API server was full.",
})

var registerOnce sync.Once

// Sink posts events through its client until the context given to Start ends. It is a
// manager.Runnable; recorders made by Recorder share its queue.
type Sink struct {
	client   client.Client
	scheme   *runtime.Scheme
	instance string
	log      logr.Logger
	queue    chan *eventsv1.Event
	workers  int
}

// New returns a Sink posting with c, whose scheme must know every kind events are about,
// from workers goroutines (4 when not positive). Reconcilers that each record an event
// per status patch need as many as they have workers of their own: with fewer, a burst
// of reconciles fills the queue faster than it drains, and the rest are dropped.
func New(c client.Client, log logr.Logger, workers int) *Sink {
	registerOnce.Do(func() {
		if err := ctrlmetrics.Registry.Register(dropped); err != nil {
			log.Error(err, "registering the dropped events counter")
		}
	})
	instance, err := os.Hostname() // the pod's name in a cluster
	if err != nil || instance == "" {
		instance = "filelink-operator"
	}
	if workers <= 0 {
		workers = defaultWorkers
	}
	return &Sink{client: c, scheme: c.Scheme(), instance: instance, log: log, queue: make(chan *eventsv1.Event, queueLength), workers: workers}
}

// Start posts queued events until ctx ends; events still queued then are dropped.
func (s *Sink) Start(ctx context.Context) error {
	var wg sync.WaitGroup
	for range s.workers {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case e := <-s.queue:
					s.post(ctx, e)
				}
			}
		})
	}
	wg.Wait()
	return nil
}

// NeedLeaderElection is false: a Sink only posts what its reconcilers record, and they
// run only where they were elected.
func (s *Sink) NeedLeaderElection() bool { return false }

func (s *Sink) post(ctx context.Context, e *eventsv1.Event) {
	ctx, cancel := context.WithTimeout(ctx, postTimeout)
	defer cancel()
	if err := s.client.Create(ctx, e); err != nil && ctx.Err() == nil {
		// Events are a courtesy to whoever runs kubectl describe; the conditions they
		// announce are in the object's status anyway.
		s.log.V(1).Info("event not posted", "regarding", e.Regarding.Name, "reason", e.Reason, "error", err.Error())
	}
}

// Recorder returns an events.EventRecorder reporting as controller.
func (s *Sink) Recorder(controller string) *Recorder {
	return &Recorder{sink: s, controller: controller}
}

// Recorder queues events for its Sink; it implements client-go's events.EventRecorder.
type Recorder struct {
	sink       *Sink
	controller string
}

// Eventf queues an event about regarding. It never blocks: a full queue drops it.
func (r *Recorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	ref, err := reference.GetReference(r.sink.scheme, regarding)
	if err != nil {
		r.sink.log.Error(err, "event about an object of no known kind dropped", "reason", reason)
		return
	}
	var relatedRef *corev1.ObjectReference
	if related != nil {
		relatedRef, _ = reference.GetReference(r.sink.scheme, related)
	}
	now := time.Now()
	message := fmt.Sprintf(note, args...)
	if len(message) > maxNoteBytes {
		message = message[:maxNoteBytes]
		for !utf8.ValidString(message) { // cut inside a character
			message = message[:len(message)-1]
		}
	}
	e := &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{
			// client-go's naming: unique per object and instant, so no create collides.
			Name:      fmt.Sprintf("%v.%x", ref.Name, now.UnixNano()),
			Namespace: namespaceOf(ref),
		},
		EventTime:           metav1.NewMicroTime(now),
		ReportingController: r.controller,
		ReportingInstance:   r.controller + "-" + r.sink.instance,
		Action:              action,
		Reason:              reason,
		Regarding:           *ref,
		Related:             relatedRef,
		Note:                message,
		Type:                eventtype,
	}
	select {
	case r.sink.queue <- e:
	default:
		dropped.Inc()
	}
}

func namespaceOf(ref *corev1.ObjectReference) string {
	if ref.Namespace == "" {
		return metav1.NamespaceDefault
	}
	return ref.Namespace
}
