package fedtest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/spaceauth/spaceauth/internal/testkit"
)

// Directory is a running slapd.
type Directory struct {
	LDAPURL  string // ldap://127.0.0.1:port (StartTLS offered)
	LDAPSURL string // ldaps://127.0.0.1:port
	// Roots trusts the test CA that signed the server certificate.
	Roots  *x509.CertPool
	Suffix string
	// ServiceDN / ServicePassword may search the directory.
	ServiceDN       string
	ServicePassword string
	caFile          string
}

// TLSConfig trusts the directory's test certificate.
func (d *Directory) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: d.Roots, MinVersion: tls.VersionTLS12}
}

// CAFile is the path of the test CA certificate (PEM).
func (d *Directory) CAFile() string { return d.caFile }

// StartSlapd runs OpenLDAP's slapd (Debian's package, /usr/sbin/slapd) as
// its own process on free loopback ports with a generated slapd.conf and
// the directory in fixtureLDIF (loaded with slapadd first); the suffix is
// dc=example,dc=org. The test fails when slapd is not installed: CI
// installs it (.ci/run), and a federation test that silently skips would
// prove nothing.
func StartSlapd(t *testing.T, fixtureLDIF string) *Directory {
	t.Helper()
	slapd, err := exec.LookPath("slapd")
	if err != nil {
		slapd = "/usr/sbin/slapd"
	}
	if _, err := os.Stat(slapd); err != nil {
		t.Fatalf("slapd not installed (apt-get install -y slapd ldap-utils): %v", err)
	}
	slapadd := filepath.Join(filepath.Dir(slapd), "slapadd")
	dir := t.TempDir()
	roots, certFile, keyFile, caFile := testCertificate(t, dir)
	db := filepath.Join(dir, "db")
	if err := os.Mkdir(db, 0o700); err != nil {
		t.Fatal(err)
	}
	d := &Directory{Roots: roots, Suffix: "dc=example,dc=org", ServiceDN: "cn=service,dc=example,dc=org",
		ServicePassword: "service-secret", caFile: caFile}
	conf := fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile %[1]s/slapd.pid
argsfile %[1]s/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile %[2]s
TLSCertificateFile %[3]s
TLSCertificateKeyFile %[4]s
database mdb
maxsize 10485760
suffix "dc=example,dc=org"
rootdn "cn=admin,dc=example,dc=org"
rootpw admin-secret
directory %[5]s
access to attrs=userPassword by self write by anonymous auth by * none
access to * by self read by dn.exact="cn=service,dc=example,dc=org" read by * none
`, dir, caFile, certFile, keyFile, db)
	confFile := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(slapadd, "-f", confFile, "-l", fixtureLDIF).CombinedOutput(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}
	ldapPort, ldapsPort := testkit.FreePort(t), testkit.FreePort(t)
	d.LDAPURL = fmt.Sprintf("ldap://127.0.0.1:%d", ldapPort)
	d.LDAPSURL = fmt.Sprintf("ldaps://127.0.0.1:%d", ldapsPort)
	// -d keeps slapd in the foreground, so the test owns the process.
	cmd := exec.Command(slapd, "-d", "0", "-f", confFile, "-h", d.LDAPURL+"/ "+d.LDAPSURL+"/")
	logw := &testLog{t: t, prefix: "slapd: "}
	cmd.Stdout, cmd.Stderr = logw, logw
	if err := cmd.Start(); err != nil {
		t.Fatalf("start slapd: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(30 * time.Second)
	for _, port := range []int{ldapPort, ldapsPort} {
		for {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("slapd did not listen on %d: %v", port, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return d
}

// testCertificate writes a server certificate for 127.0.0.1 and localhost,
// its key and the authority that issued it, as PEM files for slapd.
func testCertificate(t *testing.T, dir string) (roots *x509.CertPool, certFile, keyFile, caFile string) {
	t.Helper()
	ca := testkit.NewCA(t)
	cert := ca.ServerCertificate(t)
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, caFile = filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"), filepath.Join(dir, "ca.crt")
	writePEM(t, certFile, "CERTIFICATE", cert.Certificate[0])
	writePEM(t, keyFile, "PRIVATE KEY", keyDER)
	writePEM(t, caFile, "CERTIFICATE", ca.Cert.Raw)
	return ca.Pool(), certFile, keyFile, caFile
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
