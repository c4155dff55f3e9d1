package controllers_test

import (
	"context"
	"testing"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/test/framework/s3server"
)

// startS3 starts SeaweedFS for the test, with a versioned bucket of the given name, and
// returns it with the data of a credentials Secret that signs in to it.
func startS3(ctx context.Context, t *testing.T, bucket string) (*s3server.Server, map[string][]byte) {
	t.Helper()
	s3, err := s3server.Start(ctx, s3server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s3.Stop(); err != nil {
			t.Error(err)
		}
	})
	if err := s3.CreateBucket(ctx, bucket, true); err != nil {
		t.Fatal(err)
	}
	return s3, map[string][]byte{filelinkv1.CredentialsAccessKeyID: []byte(s3.AccessKeyID), filelinkv1.CredentialsSecretAccessKey: []byte(s3.SecretAccessKey)}
}
