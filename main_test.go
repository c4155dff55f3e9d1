package main

import "testing"

func TestFlagsAreChecked(t *testing.T) {
	for _, s := range []string{"http://localhost:8082", "https://files.example.com", "https://example.com/prefix/"} {
		if err := checkBaseURL(s); err != nil {
			t.Errorf("checkBaseURL(%q): %v", s, err)
		}
	}
	for _, s := range []string{"localhost:8082", "ftp://x", "https://", "https://x/?a=b", "https://x/#f", "::"} {
		if err := checkBaseURL(s); err == nil {
			t.Errorf("checkBaseURL(%q) accepted", s)
		}
	}
	if nn, err := parseNamespacedName("filelink-system/key"); err != nil || nn.Namespace != "filelink-system" || nn.Name != "key" {
		t.Errorf("parseNamespacedName: %v %v", nn, err)
	}
	for _, s := range []string{"key", "/key", "ns/", "a/b/c"} {
		if _, err := parseNamespacedName(s); err == nil {
			t.Errorf("parseNamespacedName(%q) accepted", s)
		}
	}
}
