package guard

import (
	"mime"
	"testing"
)

func TestAttachment(t *testing.T) {
	cases := []struct{ name, want string }{
		{"receipt.pdf", `attachment; filename="receipt.pdf"; filename*=UTF-8''receipt.pdf`},
		{"Q3 report.csv", `attachment; filename="Q3 report.csv"; filename*=UTF-8''Q3%20report.csv`},
		{`say "hi".txt`, `attachment; filename="say \"hi\".txt"; filename*=UTF-8''say%20%22hi%22.txt`},
		{`back\slash.txt`, `attachment; filename="back\\slash.txt"; filename*=UTF-8''back%5Cslash.txt`},
		{"Übersicht €.pdf", `attachment; filename="_bersicht _.pdf"; filename*=UTF-8''%C3%9Cbersicht%20%E2%82%AC.pdf`},
		{"a;b=c.txt", `attachment; filename="a;b=c.txt"; filename*=UTF-8''a%3Bb%3Dc.txt`},
	}
	for _, c := range cases {
		got := Attachment(c.name)
		if got != c.want {
			t.Errorf("Attachment(%q)\n got %s\nwant %s", c.name, got, c.want)
		}
		// A standard parser recovers the exact name from it.
		disp, params, err := mime.ParseMediaType(got)
		if err != nil || disp != "attachment" || params["filename"] != c.name {
			t.Errorf("Attachment(%q) parses as %q %q %v", c.name, disp, params, err)
		}
	}
}
