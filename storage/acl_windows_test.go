package storage

import (
	"slices"
	"testing"

	"golang.org/x/sys/windows"
)

// TestOtherReaders: who beyond this user, SYSTEM and the Administrators may
// read a file, by its DACL.
func TestOtherReaders(t *testing.T) {
	user, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	me := user.User.Sid.String()
	for _, tt := range []struct {
		sddl string
		want []string
	}{
		{"D:P(A;;FA;;;" + me + ")", nil},
		{"D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;" + me + ")", nil},
		{"D:P(A;;FA;;;" + me + ")(A;;FR;;;WD)", []string{"Everyone"}},
		{"D:P(A;;0x1200a9;;;WD)", []string{"Everyone"}},
		{"D:P(A;;GR;;;S-1-5-21-1-2-3-1001)", []string{"S-1-5-21-1-2-3-1001"}},
		{"D:P(A;;FR;;;OW)", nil},                        // OWNER RIGHTS: the owner, this user
		{"D:P(A;;FW;;;WD)", nil},                        // write only: not a reader
		{"D:P(D;;FA;;;WD)", nil},                        // a deny entry grants nothing
		{"D:P(A;OICIIO;FA;;;WD)", nil},                  // inherit-only: not this file's
		{"D:P", nil},                                    // an empty DACL: nobody at all
		{"O:SY", []string{"everyone (no access list)"}}, // no DACL: everybody
	} {
		sd, err := windows.SecurityDescriptorFromString(tt.sddl)
		if err != nil {
			t.Fatalf("%s: %v", tt.sddl, err)
		}
		if got := otherReaders(sd, user.User.Sid); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.sddl, got, tt.want)
		}
	}
}

// TestOtherWriters: who beyond this user, SYSTEM and the Administrators may put
// or replace files in a directory, by its DACL.
func TestOtherWriters(t *testing.T) {
	user, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	me := user.User.Sid.String()
	for _, tt := range []struct {
		sddl string
		want []string
	}{
		{"D:P(A;OICI;FA;;;" + me + ")(A;OICI;FA;;;SY)(A;OICI;0x1200a9;;;WD)", nil}, // others read and list: fine
		{"D:P(A;;0x2;;;WD)", []string{"Everyone"}},                                 // add a file
		{"D:P(A;;0x40;;;WD)", []string{"Everyone"}},                                // delete a child
		{"D:P(A;;WD;;;WD)", []string{"Everyone"}},                                  // change the DACL
		{"D:P(A;;GW;;;S-1-5-21-1-2-3-1001)", []string{"S-1-5-21-1-2-3-1001"}},
	} {
		sd, err := windows.SecurityDescriptorFromString(tt.sddl)
		if err != nil {
			t.Fatalf("%s: %v", tt.sddl, err)
		}
		if got := otherHolders(sd, user.User.Sid, writeRights); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.sddl, got, tt.want)
		}
	}
}
