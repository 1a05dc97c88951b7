package userimport

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	in := "\ufeffEmail,Name,Password,password_hash,Businesses,Roles,Admin\n" +
		"ana@example.com,Ana Lima,correct horse battery,,north;south,User-Edit,false\n" +
		"\n" +
		"bo@example.com,\"Bo, Jr.\",,$2a$10$abcdefghijklmnopqrstuv,north,,TRUE\n" +
		"short,row\n" +
		"cy@example.com,Cy,pw,,,,maybe\n"
	rows, bad, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("rows %+v", rows)
	}
	if rows[0].Line != 2 || rows[0].Email != "ana@example.com" || len(rows[0].Businesses) != 2 || rows[0].Roles[0] != "User-Edit" || rows[0].Admin {
		t.Errorf("row 0 %+v", rows[0])
	}
	if rows[1].Line != 4 || rows[1].Name != "Bo, Jr." || rows[1].PasswordHash == "" || !rows[1].Admin {
		t.Errorf("row 1 %+v", rows[1])
	}
	if len(bad) != 2 || bad[0].Line != 5 || bad[1].Line != 6 || !strings.Contains(bad[1].Msg, "admin") {
		t.Errorf("bad %+v", bad)
	}
}

func TestParseHeaderErrors(t *testing.T) {
	cases := map[string]string{
		"":                            "empty file",
		"email,name,colour\n":         "unknown column",
		"email,password\n":            "\"name\" is required",
		"email,name\n":                "password",
		"email,name,password,EMAIL\n": "twice",
		"\"email,name,password\n":     "header",
	}
	for in, want := range cases {
		_, _, err := Parse(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want error with %q", in, err, want)
		}
	}
}

// FuzzParse: no input panics, every reported line is positive, and every
// row carries valid UTF-8 and no NUL.
func FuzzParse(f *testing.F) {
	f.Add("email,name,password\na@b.co,A,pw\n")
	f.Add("email,name,password_hash,businesses,roles,admin\na@b.co,A,$2a$x,n;s,r,true\n")
	f.Add("email,name,password\n\"a@b.co,A,pw\n")
	f.Add("email,name,password\na\x00,\xff,x\n")
	f.Fuzz(func(t *testing.T, in string) {
		rows, bad, err := Parse(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.Line <= 0 || strings.ContainsRune(r.Email+r.Name+r.Password, 0) {
				t.Fatalf("row %+v", r)
			}
		}
		for _, b := range bad {
			if b.Line <= 0 || b.Msg == "" {
				t.Fatalf("bad %+v", b)
			}
		}
	})
}
