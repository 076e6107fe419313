package refresh

import (
	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// The tests' one profile: FakeCreds are its credentials and testManager its
// Manager. A test changes what it is about afterwards, on the values built.
// FakeCreds and FakeIDs are exported for the tests of package refresh_test.

// FakeIDs are the client's and the company's values a fake endpoint accepts.
type FakeIDs struct{ ClientID, ClientSecret, CompanyUUID, RequestToken string }

// testIDs are most tests' values; the fault tests' fakes have their own
// (ftFake), and the library tests theirs.
var testIDs = FakeIDs{testClientID, testClientSecret, testCompanyUUID, testRequestToken}

// FakeCreds are credentials of grant at tokenURL, the client's secret in the
// form, kept at path; the password grant as Concur's tutorial writes it
// (company UUID, request token, credtype authtoken).
func FakeCreds(tokenURL, grant, path string, ids FakeIDs) *credentials.Credentials {
	c := &credentials.Credentials{
		TokenURL: tokenURL, GrantType: grant, AppID: ids.ClientID, ClientSecret: ids.ClientSecret,
		AuthStyle: credentials.AuthParams, Path: path,
	}
	if grant == credentials.GrantPassword {
		c.CompanyUUID, c.CompanyRequestToken, c.CredentialType = ids.CompanyUUID, ids.RequestToken, "authtoken"
	}
	return c
}

// testManager is a Manager of c kept at paths; loopback endpoints stand for
// Concur's data centres (loopbackConcur). clock may be nil: the system's.
func testManager(c *credentials.Credentials, paths storage.Paths, clock Clock, client *Client) *Manager {
	return &Manager{Creds: c, Paths: paths, Clock: clock, Client: client, trustHost: loopbackConcur}
}
