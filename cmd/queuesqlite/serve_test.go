package main

import (
	"strings"
	"testing"
)

// TestServe_RefusesNonLoopbackWithoutToken: an address beyond this
// machine needs a token; the refusal says how to give one.
func TestServe_RefusesNonLoopbackWithoutToken(t *testing.T) {
	t.Setenv(envToken, "")
	t.Setenv(envReadOnlyToken, "")
	dir := t.TempDir()
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:7420", "example.com:7420"} {
		fails(t, "not a loopback address: set a token", "--dir", dir, "serve", "--addr", addr)
	}
	fails(t, "want host:port", "--dir", dir, "serve", "--addr", "7420")
}

// TestServe_FlagErrors: options serve cannot honour are refused up front.
func TestServe_FlagErrors(t *testing.T) {
	t.Setenv(envToken, "")
	t.Setenv(envReadOnlyToken, "")
	dir := t.TempDir()
	fails(t, "leave --dir and --shards out", "--dir", dir, "serve", "--dsn", "postgres://localhost/q")
	fails(t, "--max-body must be positive", "--dir", dir, "serve", "--max-body", "0")
	fails(t, "must differ", "--dir", dir, "serve", "--token", "t", "--read-only-token", "t")
	r := cli(t, "serve", "--help")
	if r.code != 0 || !contains(r.stdout, "127.0.0.1:7420") {
		t.Fatalf("serve --help: %d\n%s", r.code, r.stdout)
	}
}

// TestServe_HelpHidesToken: a token from the environment is not printed as
// the flag's default in the help.
func TestServe_HelpHidesToken(t *testing.T) {
	t.Setenv(envToken, "very-secret-token")
	r := cli(t, "serve", "--help")
	if r.code != 0 || contains(r.stdout, "very-secret-token") {
		t.Fatalf("serve --help shows the token:\n%s", r.stdout)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
