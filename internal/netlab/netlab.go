// Package netlab builds a small network of hosts on this machine for
// multi-host tests: a bridge in the root network namespace, one network
// namespace per host joined to it by a veth pair, and a private PostgreSQL
// server listening on the bridge's address. A test runs each host's
// processes inside its namespace (Host.Command), cuts a host off the
// database and heals it (Host.Cut, Host.Heal), and restarts the server
// (Postgres.Restart). It needs root, ip(8) and PostgreSQL's server
// binaries; Available says why not, when it cannot run.
package netlab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// subnetBase is the first two octets of the lab's private subnets; each
// lab takes a random /24 inside it, so labs of concurrent tests do not
// collide.
const subnetBase = "10.213"

// hostOffset is the last octet of host 0's address (the bridge is .1).
const hostOffset = 10

// readyTimeout bounds how long the server may take to accept connections.
const readyTimeout = 60 * time.Second

// pgBinDirs are where Debian keeps PostgreSQL's server binaries.
var pgBinDirs = []string{"/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"}

// Available reports "" when labs can be built here, or why not.
func Available() string {
	if os.Geteuid() != 0 {
		return "network namespaces need root"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "ip(8) not found"
	}
	if pgBin() == "" {
		return "PostgreSQL server binaries not found in " + strings.Join(pgBinDirs, ", ")
	}
	if out, err := exec.Command("ip", "netns", "list").CombinedOutput(); err != nil {
		return fmt.Sprintf("ip netns does not work: %v: %s", err, bytes.TrimSpace(out))
	}
	return ""
}

// Skip skips t when labs cannot be built here, with one line saying why,
// except under CI=true, where it fails t.
func Skip(t testing.TB) {
	t.Helper()
	if why := Available(); why != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("multi-host test cannot run under CI=true: %s", why)
		}
		t.Skipf("multi-host test skipped: %s", why)
	}
}

func pgBin() string {
	for _, d := range pgBinDirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d
		}
	}
	return ""
}

// Lab is a bridge with hosts on it.
type Lab struct {
	t      testing.TB
	id     string // short random name part
	subnet string // e.g. 10.213.7
	Bridge string
	Hosts  []*Host
}

// Host is one network namespace on the lab's bridge.
type Host struct {
	lab  *Lab
	Name string // the namespace
	Addr string // its address on the bridge
	veth string // the root namespace's end of its veth pair
}

// New builds a lab of n hosts, torn down when t ends.
func New(t testing.TB, n int) *Lab {
	t.Helper()
	Skip(t)
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	l := &Lab{t: t, id: hex.EncodeToString(b), subnet: fmt.Sprintf("%s.%d", subnetBase, 1+int(b[0])%250)}
	l.Bridge = "qb" + l.id
	t.Cleanup(l.teardown)
	l.run("ip", "link", "add", l.Bridge, "type", "bridge")
	l.run("ip", "addr", "add", l.BridgeAddr()+"/24", "dev", l.Bridge)
	l.run("ip", "link", "set", l.Bridge, "up")
	for i := range n {
		l.addHost(i)
	}
	return l
}

// BridgeAddr is the root namespace's address on the bridge, where the
// lab's server listens.
func (l *Lab) BridgeAddr() string { return l.subnet + ".1" }

func (l *Lab) addHost(i int) {
	h := &Host{lab: l, Name: fmt.Sprintf("qn%s-%d", l.id, i), Addr: fmt.Sprintf("%s.%d", l.subnet, hostOffset+i),
		veth: fmt.Sprintf("qv%s%d", l.id, i)}
	peer := h.veth + "p"
	l.run("ip", "netns", "add", h.Name)
	l.run("ip", "link", "add", h.veth, "type", "veth", "peer", "name", peer)
	l.run("ip", "link", "set", peer, "netns", h.Name)
	l.run("ip", "link", "set", h.veth, "master", l.Bridge)
	l.run("ip", "link", "set", h.veth, "up")
	l.run("ip", "netns", "exec", h.Name, "ip", "addr", "add", h.Addr+"/24", "dev", peer)
	l.run("ip", "netns", "exec", h.Name, "ip", "link", "set", peer, "up")
	l.run("ip", "netns", "exec", h.Name, "ip", "link", "set", "lo", "up")
	l.Hosts = append(l.Hosts, h)
}

// Command returns a command that runs inside the host's namespace.
func (h *Host) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", h.Name, name}, args...)...)
}

// Cut takes the host's link to the bridge down: its packets to the server
// (and the server's to it) are dropped, as in a network partition. Open
// connections are not closed; they hang until the link comes back or a
// timeout ends them.
func (h *Host) Cut() { h.lab.run("ip", "link", "set", h.veth, "down") }

// Heal brings the host's link back and waits (up to healWait) until the
// bridge forwards its packets again: right after "link up" the port may
// still be coming up, and a packet sent then is lost.
func (h *Host) Heal() {
	h.lab.run("ip", "link", "set", h.veth, "up")
	state := filepath.Join("/sys/class/net", h.veth, "brport", "state")
	for deadline := time.Now().Add(healWait); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(state); err == nil && strings.TrimSpace(string(b)) == brportForwarding {
			return
		}
	}
	h.lab.t.Fatalf("the link of host %s is not forwarding %v after it was brought up", h.Name, healWait)
}

const (
	// healWait bounds how long Heal waits for a port to forward again.
	healWait = 30 * time.Second
	// brportForwarding is the kernel's BR_STATE_FORWARDING, as
	// /sys/class/net/<port>/brport/state shows it.
	brportForwarding = "3"
)

func (l *Lab) run(name string, args ...string) {
	l.t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		l.t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
}

func (l *Lab) teardown() {
	for _, h := range l.Hosts {
		_ = exec.Command("ip", "netns", "del", h.Name).Run()
		_ = exec.Command("ip", "link", "del", h.veth).Run()
	}
	_ = exec.Command("ip", "link", "del", l.Bridge).Run()
}

// Postgres is a private PostgreSQL server of a lab.
type Postgres struct {
	t    testing.TB
	dir  string // the data directory
	Host string
	Port int
}

// StartPostgres initialises a fresh cluster (owned by the postgres user,
// trust authentication, fsync on) and starts it listening on the bridge
// address (and loopback), torn down when t ends.
func (l *Lab) StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "netlab-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p := &Postgres{t: t, dir: dir, Host: l.BridgeAddr(), Port: port}
	t.Cleanup(func() {
		_ = p.ctl("stop", "-m", "immediate")
		_ = os.RemoveAll(dir)
	})
	l.run("chown", "postgres:postgres", dir)
	l.run("runuser", "-u", "postgres", "--", filepath.Join(pgBin(), "initdb"), "-D", filepath.Join(dir, "data"),
		"-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions")
	hba := fmt.Sprintf("host all all %s.0/24 trust\nhost all all 127.0.0.1/32 trust\nlocal all all trust\n", l.subnet)
	if err := os.WriteFile(filepath.Join(dir, "data", "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		t.Fatal(err)
	}
	l.run("chown", "postgres:postgres", filepath.Join(dir, "data", "pg_hba.conf"))
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	return p
}

// DSN is the server's connection string for database postgres.
func (p *Postgres) DSN() string {
	return fmt.Sprintf("postgres://postgres@%s:%d/postgres?sslmode=disable", p.Host, p.Port)
}

func (p *Postgres) start() error {
	opts := fmt.Sprintf("-c listen_addresses='%s,127.0.0.1' -p %d -c unix_socket_directories='%s' -c fsync=on -c synchronous_commit=on -c max_connections=200",
		p.Host, p.Port, p.dir)
	if err := p.ctl("start", "-w", "-t", fmt.Sprint(int(readyTimeout.Seconds())), "-l", filepath.Join(p.dir, "log"), "-o", opts); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "log"))
		return fmt.Errorf("start postgres: %w\n%s", err, log)
	}
	return p.waitReady()
}

// Restart stops the server at once (as a crash would, with -m immediate)
// and starts it again.
func (p *Postgres) Restart() {
	p.t.Helper()
	if err := p.ctl("stop", "-m", "immediate"); err != nil {
		p.t.Fatal(err)
	}
	if err := p.start(); err != nil {
		p.t.Fatal(err)
	}
}

// Stop stops the server at once; Start brings it back.
func (p *Postgres) Stop() {
	p.t.Helper()
	if err := p.ctl("stop", "-m", "immediate"); err != nil {
		p.t.Fatal(err)
	}
}

// Start starts a stopped server.
func (p *Postgres) Start() {
	p.t.Helper()
	if err := p.start(); err != nil {
		p.t.Fatal(err)
	}
}

func (p *Postgres) ctl(args ...string) error {
	full := append([]string{"-u", "postgres", "--", filepath.Join(pgBin(), "pg_ctl"), "-D", filepath.Join(p.dir, "data")}, args...)
	out, err := exec.Command("runuser", full...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// waitReady polls until the server accepts TCP connections on its address.
func (p *Postgres) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	for {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", net.JoinHostPort(p.Host, fmt.Sprint(p.Port)))
		if err == nil {
			return c.Close()
		}
		if ctx.Err() != nil {
			return errors.Join(errors.New("postgres did not accept connections in time"), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freePort asks the kernel for a free TCP port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
