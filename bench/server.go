package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"time"

	"github.com/spaceauth/spaceauth/internal/password"
)

// prepareUsers adds the business "demo", its administrator
// admin@bench.test (user id 1) and users u0..u{n-1}@bench.test (ids 2..n+1)
// through the binary's own CLI.
func prepareUsers(bin, dsn string, n int) error {
	if err := cli(bin, "", "business", "add", "--db", dsn, "--slug", "demo", "--name", "Bench Space"); err != nil {
		return err
	}
	// One real Argon2id hash (the binary's parameters) shared by every user,
	// so that preparing thousands of users takes a second, not minutes.
	hash, err := password.NewHasher(password.DefaultParams()).Hash(benchPW)
	if err != nil {
		return fmt.Errorf("hash: %w", err)
	}
	var csv bytes.Buffer
	csv.WriteString("email,name,password_hash,businesses,roles,admin\n")
	// The PHC string holds commas: quote it.
	csv.WriteString("admin@bench.test,Bench Admin,\"" + hash + "\",demo,,true\n")
	for i := range n {
		fmt.Fprintf(&csv, "u%d@bench.test,User %d,\"%s\",demo,,false\n", i, i, hash)
	}
	return cli(bin, csv.String(), "user", "import", "--db", dsn, "-")
}

// benchServer is a running `spaceauth serve`.
type benchServer struct {
	cmd   *exec.Cmd
	port  string
	pid   int
	ready time.Duration // from start to the first 200 of /readyz
}

// startServer starts `spaceauth serve` on dsn on a free loopback port with
// the harness's fixed flags followed by extra, with env added to the
// harness's environment (-server-env), and waits until it is ready.
func startServer(bin, dsn, mailDir string, extra, env []string) (*benchServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	args := []string{"serve", "--db", dsn, "--listen", "127.0.0.1:" + port, "--public-url", "http://localhost:" + port,
		"--mail-dir", mailDir, "--log-level", "error", "--trusted-proxy", "127.0.0.1"}
	srv := exec.Command(bin, append(args, extra...)...)
	srv.Env = append(os.Environ(), env...)
	srv.Stderr = os.Stderr
	started := time.Now()
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	s := &benchServer{cmd: srv, port: port, pid: srv.Process.Pid}
	c := newClient(port, 1)
	for {
		if resp, err := c.Get("http://localhost/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Since(started) > 20*time.Second {
			s.stop()
			return nil, errors.New("server not ready in 20s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.ready = time.Since(started)
	return s, nil
}

func (s *benchServer) stop() {
	s.cmd.Process.Kill()
	s.cmd.Wait()
}
