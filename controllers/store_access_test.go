package controllers

import (
	"errors"
	"fmt"
	"testing"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/storeaccess"
)

// TestStoreAccessVerdicts maps each refusal of storeaccess to its FileStore reason: only
// a missing Secret is waited for; an API failure is no verdict, it is retried.
func TestStoreAccessVerdicts(t *testing.T) {
	for _, row := range []struct {
		err  error
		want readiness
	}{
		{storeaccess.ErrCredentialsNotFound, readiness{reason: filelinkv1.ReasonCredentialsNotFound, waiting: true}},
		{storeaccess.ErrCredentialsNotShareable, readiness{reason: filelinkv1.ReasonCredentialsNotShareable, stalled: true}},
		{storeaccess.ErrCredentialsInvalid, readiness{reason: filelinkv1.ReasonCredentialsInvalid, stalled: true}},
		{storeaccess.ErrInvalidEndpoint, readiness{reason: filelinkv1.ReasonInvalidEndpoint, stalled: true}},
	} {
		err := fmt.Errorf(`Secret "s3-reader": %w`, row.err)
		row.want.message = err.Error()
		if got, ok := accessVerdict(err); !ok || got != row.want {
			t.Errorf("%v: got %+v, %t; want %+v", row.err, got, ok, row.want)
		}
	}
	if v, ok := accessVerdict(errors.New("the API server is away")); ok {
		t.Errorf("an API failure became the verdict %+v", v)
	}
	if _, ok := accessVerdict(nil); ok {
		t.Error("no error became a verdict")
	}
}
