package multinode

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/center"
	"github.com/hotline-cc/hotline/cluster"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/customers"
	"github.com/hotline-cc/hotline/customers/storetest"
	"github.com/hotline-cc/hotline/internal/sipptest"
	"github.com/hotline-cc/hotline/internal/testenv"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hotline-multinode")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "hotline")
	if out, err := exec.Command("go", "build", "-o", binary, "../../cmd/hotline").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// directFlow puts every caller straight into the support queue.
const directFlow = `description: straight to the queue
language: en
start: queue
nodes:
  queue:
    queue:
      name: support
    on:
      answered: bye
      timeout: bye
      callback: bye
      voicemail: bye
      error: bye
  bye:
    hangup: {}
`

// site is several hotline nodes serving one contact center.
type site struct {
	t      *testing.T
	dir    string
	dsn    string
	prefix string
	rdb    *redis.Client
	nodes  []*node
	token  string // a supervisor's, made through one node, good on all
	proxy  string // Kamailio in front, once started
	kamLog string
	stores map[string]*customers.Store // opened by store, by recordings directory
	agents []string                    // agent IDs; each agent's password is its ID + "-pw"
}

// node is one `hotline serve`.
type node struct {
	name     string
	cfg      string
	sipAddr  string
	httpAddr string
	cmd      *exec.Cmd
	out      *testenv.Output
	done     chan error
}

type siteOptions struct {
	nodes     int
	agents    int
	deadAfter time.Duration
	extra     string // more YAML for every node's configuration
	flow      string // the entry flow (default directFlow)
	queue     string // the support queue's YAML (default a fast queue without callbacks)
	sip       string // more keys of every node's sip: section, e.g. "trunk: ..."
}

// newSite writes the configurations of a site of o.nodes nodes on a fresh PostgreSQL schema
// and a fresh Redis key prefix; start starts them.
func newSite(t *testing.T, o siteOptions) *site {
	t.Helper()
	testenv.Tool(t, "sipp")
	testenv.Service(t, "redis", "127.0.0.1:6379")
	s := &site{t: t, dir: t.TempDir(), dsn: storetest.PostgresDSN(t),
		prefix: fmt.Sprintf("hltest%d", time.Now().UnixNano()),
		rdb:    redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})}
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := s.rdb.Keys(ctx, s.prefix+"*").Result()
		if len(keys) > 0 {
			s.rdb.Del(ctx, keys...)
		}
		s.rdb.Close()
	})
	flows := filepath.Join(s.dir, "flows")
	os.Mkdir(flows, 0o755)
	if o.flow == "" {
		o.flow = directFlow
	}
	if o.queue == "" {
		o.queue = "{name: support, strategy: longest-idle, ring_timeout: 3s, wrap_up: 1s, announce_every: 0s, max_wait: 2m}"
	}
	if o.sip != "" {
		o.sip = ", " + o.sip
	}
	os.WriteFile(filepath.Join(flows, "direct.yaml"), []byte(o.flow), 0o644)
	var agents strings.Builder
	for i := range o.agents {
		id := strconv.Itoa(1001 + i)
		s.agents = append(s.agents, id)
		fmt.Fprintf(&agents, "  - {id: %q, name: Agent%s, password: %q, queues: [support], auto_login: true}\n", id, id, id+"-pw")
	}
	if o.deadAfter == 0 {
		o.deadAfter = 1500 * time.Millisecond
	}
	for i := range o.nodes {
		n := &node{name: fmt.Sprintf("node-%d", i+1),
			sipAddr:  fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t)),
			httpAddr: fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(t))}
		data := filepath.Join(s.dir, n.name)
		n.cfg = filepath.Join(s.dir, n.name+".yaml")
		conf := fmt.Sprintf(`data_dir: %s
log: {level: debug}
sip: {addr: %q, max_expires: 60, min_expires: 10%s}
http: {addr: %q}
flows: {dir: %s, entry: direct}
store: {dsn: %q}
redis: {addr: "127.0.0.1:6379"}
cluster: {node: %s, shared: true, prefix: %s, dead_after: %s}
queues:
  - %s
agents:
%s%s
`, data, n.sipAddr, o.sip, n.httpAddr, flows, s.dsn, n.name, s.prefix, o.deadAfter, o.queue, agents.String(), o.extra)
		if err := os.WriteFile(n.cfg, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		s.nodes = append(s.nodes, n)
	}
	return s
}

// start starts every node, one after the other (the first starts the site's epoch).
func (s *site) start() {
	s.t.Helper()
	for _, n := range s.nodes {
		s.startNode(n)
	}
	// One token for the whole site: the nodes keep tokens in the shared store.
	out, err := exec.Command(binary, "token", "create", "--role", "supervisor", "--config", s.nodes[len(s.nodes)-1].cfg).CombinedOutput()
	m := regexp.MustCompile(`shown only now:\s+(\S+)`).FindStringSubmatch(string(out))
	if err != nil || m == nil {
		s.t.Fatalf("token create: %v\n%s", err, out)
	}
	s.token = m[1]
	time.Sleep(1100 * time.Millisecond) // nodes re-read the tokens at most once a second
}

func (s *site) startNode(n *node) {
	s.t.Helper()
	n.out, n.done = &testenv.Output{}, make(chan error, 1)
	n.cmd = exec.Command(binary, "serve", "--config", n.cfg)
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
	if err := n.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	cmd := n.cmd
	done := n.done
	go func() { done <- cmd.Wait() }()
	s.t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
		if s.t.Failed() {
			s.t.Logf("%s output:\n%s", n.name, tail(n.out.String(), 150))
		}
	})
	n.waitFor(s.t, "hotline is running", 30*time.Second)
}

// kill ends a node with SIGKILL.
func (n *node) kill(t *testing.T) {
	t.Helper()
	_ = n.cmd.Process.Kill()
	<-n.done
}

func (n *node) waitFor(t *testing.T, want string, d time.Duration) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(n.out.String(), want) {
			return
		}
	}
	t.Fatalf("no %q in %s's output within %v:\n%s", want, n.name, d, tail(n.out.String(), 100))
}

func (n *node) count(re string) int {
	return len(regexp.MustCompile(re).FindAllStringIndex(n.out.String(), -1))
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// api GETs a path of a node's API as a supervisor and decodes the JSON into v.
func (s *site) api(n *node, path string, v any) { s.t.Helper(); s.call(n, "GET", path, nil, v) }

// call makes an API request to a node as a supervisor and decodes the JSON answer into v.
func (s *site) call(n *node, method, path string, body, v any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+n.httpAddr+path, rd)
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		s.t.Fatalf("%s %s on %s: %d %s", method, path, n.name, res.StatusCode, out)
	}
	if v != nil {
		if err := json.Unmarshal(out, v); err != nil {
			s.t.Fatalf("%s %s on %s: %v in %s", method, path, n.name, err, out)
		}
	}
}

type queueView struct {
	Queue   string `json:"queue"`
	Waiting int    `json:"waiting"`
	Ringing int    `json:"ringing"`
	Agents  struct {
		Available int `json:"available"`
		OnCall    int `json:"on_call"`
	} `json:"agents"`
}

type agentView struct {
	ID    string `json:"id"`
	State string `json:"state"`
}

func (s *site) agent(n *node, id string) agentView {
	s.t.Helper()
	var a agentView
	s.api(n, "/api/v1/agents/"+id, &a)
	return a
}

func (s *site) queue(n *node) queueView {
	s.t.Helper()
	var q queueView
	s.api(n, "/api/v1/queues/support", &q)
	return q
}

// eventually polls cond until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for end := start.Add(d); ; time.Sleep(25 * time.Millisecond) {
		if cond() {
			return time.Since(start)
		}
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v", what, d)
		}
	}
}

type liveCall struct {
	ID       string `json:"id"`
	Caller   string `json:"caller"`
	State    string `json:"state"`
	Queue    string `json:"queue"`
	Agent    string `json:"agent"`
	Position int    `json:"position"`
}

// calls are the calls in progress on a node (each node lists those whose media it carries).
func (s *site) calls(n *node) []liveCall {
	s.t.Helper()
	var l struct {
		Items []liveCall `json:"items"`
	}
	s.api(n, "/api/v1/calls?limit=500", &l)
	return l.Items
}

// positions maps each queued caller's number to its place in line, over the given nodes.
func (s *site) positions(nodes ...*node) map[string]int {
	s.t.Helper()
	out := map[string]int{}
	for _, n := range nodes {
		for _, c := range s.calls(n) {
			if c.Position > 0 {
				out[c.Caller] = c.Position
			}
		}
	}
	return out
}

type me struct {
	Node  string   `json:"node"`
	Nodes []string `json:"nodes"`
}

// me is what a node says of itself to the dashboard: its name and the site's live nodes.
func (s *site) me(n *node) me {
	s.t.Helper()
	var m me
	s.api(n, "/api/v1/me", &m)
	return m
}

// kamailio starts the project's Kamailio (deploy/kamailio/kamailio.cfg) on loopback in front of
// the site's nodes and returns its address, once it answers.
func (s *site) kamailio() string {
	s.t.Helper()
	kam := testenv.Tool(s.t, "kamailio")
	dir := s.t.TempDir()
	list := filepath.Join(dir, "dispatcher.list")
	var lines []string
	for _, n := range s.nodes {
		lines = append(lines, fmt.Sprintf("1 sip:%s;transport=udp 8 0 duid=%s", n.sipAddr, n.name))
	}
	if err := os.WriteFile(list, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		s.t.Fatal(err)
	}
	proxy := fmt.Sprintf("127.0.0.1:%d", sipptest.FreeUDPPort(s.t))
	cfg, err := filepath.Abs("../../deploy/kamailio/kamailio.cfg")
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(kam, "-DD", "-E", "-n", "2", "-m", "64", "-Y", dir, "-w", dir, "-f", cfg,
		"-A", "LISTEN=udp:"+proxy, "-A", "LISTEN_TCP=tcp:"+proxy, "-A", `DISPATCHER_LIST="`+list+`"`)
	// Kamailio forks its workers: they are its process group, ended together; its log goes to
	// a file (a pipe would stay open in the workers).
	logPath := filepath.Join(dir, "kamailio.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		s.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	logFile.Close()
	s.kamLog = logPath
	s.t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		if s.t.Failed() {
			b, _ := os.ReadFile(logPath)
			s.t.Logf("kamailio:\n%s", tail(string(b), 80))
		}
	})
	// Up when every node is in rotation: the probes (a ping a second) have seen them answer.
	eventually(s.t, 15*time.Second, "kamailio up", func() bool {
		c, err := net.Dial("udp", proxy)
		if err != nil {
			return false
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(300 * time.Millisecond))
		fmt.Fprintf(c, "OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-up%d\r\nFrom: <sip:ping@%s>;tag=up\r\nTo: <sip:%s>\r\nCall-ID: up-%d\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
			proxy, c.LocalAddr(), time.Now().UnixNano(), c.LocalAddr(), proxy, time.Now().UnixNano())
		buf := make([]byte, 2048)
		n, err := c.Read(buf)
		return err == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 ")
	})
	time.Sleep(2500 * time.Millisecond) // two probe rounds: every node in rotation
	s.proxy = proxy
	return proxy
}

// checkShared joins the site as one more replica of its shared distributor (the test's own, from
// a node's configuration), checks the distributor's invariants on the state it replayed, and
// leaves. It returns the replica's view of the support queue.
func (s *site) checkShared(n *node) acd.QueueStats {
	s.t.Helper()
	cfg, err := config.Load(n.cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := cluster.Open(ctx, cluster.Config{Redis: s.rdb, Prefix: s.prefix, Node: "test-observer", ACD: center.ACDConfig(cfg),
		DeadAfter: cfg.Cluster.DeadAfter.D()})
	if err != nil {
		s.t.Fatalf("joining the site to check it: %v", err)
	}
	done, stop := context.WithCancel(ctx)
	stop()
	_ = r.Run(done, nil) // returns at once, leaving the site
	if err := r.CheckInvariants(); err != nil {
		s.t.Fatalf("the shared distributor breaks its invariants: %v", err)
	}
	q, _ := r.QueueStats("support")
	return q
}

// readFlow reads a flow of the project's test data (testdata/flows).
func readFlow(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "flows", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
