package objectstore_test

import (
	"testing"

	filelinkv1 "github.com/filelink-dev/filelink-operator/api/v1alpha1"
	"github.com/filelink-dev/filelink-operator/internal/objectstore"
)

func TestNewRefusesEndpointsTheSchemaRefuses(t *testing.T) {
	creds := objectstore.Credentials{AccessKeyID: "a", SecretAccessKey: "b"}
	for _, endpoint := range []string{
		"http://s3.example.com", // http without allowInsecureHTTP
		"ftp://s3.example.com",
		"s3.example.com",
		"https://s3.example.com/bucket",
		"https://s3.example.com?x=1",
		"https://key:secret@s3.example.com",
	} {
		if _, err := objectstore.New(filelinkv1.S3Bucket{Endpoint: endpoint, Bucket: "b-1"}, creds, objectstore.Options{}); err == nil {
			t.Errorf("%s accepted", endpoint)
		}
	}
	if _, err := objectstore.New(filelinkv1.S3Bucket{Endpoint: "https://s3.example.com:9000/", Bucket: "b-1"}, creds, objectstore.Options{}); err != nil {
		t.Errorf("https endpoint refused: %v", err)
	}
}

func TestCredentialsFromData(t *testing.T) {
	c, err := objectstore.CredentialsFromData(map[string][]byte{"accessKeyID": []byte("AKIA"), "secretAccessKey": []byte("s3cr3t")})
	if err != nil || c.AccessKeyID != "AKIA" || c.SecretAccessKey != "s3cr3t" {
		t.Fatalf("%+v, %v", c, err)
	}
	for _, data := range []map[string][]byte{nil, {"accessKeyID": []byte("AKIA")}, {"accessKeyID": []byte("AKIA"), "secretAccessKey": nil}} {
		if _, err := objectstore.CredentialsFromData(data); err == nil {
			t.Errorf("incomplete credentials %v accepted", data)
		}
	}
}
