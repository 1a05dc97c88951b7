// Command oidcop is the OpenID provider the tests sign in at: the example
// OP server of github.com/zitadel/oidc (a certified implementation) with
// its own users and login page, on a loopback port it picks itself. It is
// test-only: nothing of the spaceauth binary imports it.
//
// It prints "issuer <URL>" on stdout once it is listening.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "oidcop:", err)
		os.Exit(1)
	}
}

func run() error {
	users := flag.String("users", "", "JSON file: user id -> user (see zitadel example storage.User)")
	clientID := flag.String("client-id", "spaceauth", "client id")
	secret := flag.String("client-secret", "secret", "client secret")
	redirects := flag.String("redirect-uris", "", "comma-separated redirect URIs of the client")
	other := flag.String("other-client-id", "other-client", "a second client (for wrong-audience tokens)")
	flag.Parse()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	issuer := fmt.Sprintf("http://%s/", ln.Addr())
	uris := strings.Split(*redirects, ",")
	storage.RegisterClients(
		storage.WebClient(*clientID, *secret, uris...),
		storage.WebClient(*other, *secret, uris...),
	)
	us, err := storage.StoreFromFile(*users)
	if err != nil {
		return fmt.Errorf("users: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	router := exampleop.SetupServer(issuer, storage.NewStorage(us), logger, false)
	fmt.Printf("issuer %s\n", issuer)
	return http.Serve(ln, router)
}
