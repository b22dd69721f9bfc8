package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/internal/testenv"
)

// clusterCompose is what the tests read of cluster/compose.yaml.
type clusterCompose struct {
	Name     string                    `yaml:"name"`
	XHotline yaml.Node                 `yaml:"x-hotline"`
	Services map[string]clusterService `yaml:"services"`
	Networks map[string]struct {
		IPAM struct {
			Config []struct {
				Subnet string `yaml:"subnet"`
			} `yaml:"config"`
		} `yaml:"ipam"`
	} `yaml:"networks"`
	Volumes map[string]any `yaml:"volumes"`
}

type clusterService struct {
	composeService `yaml:",inline"`
	Networks       yaml.Node `yaml:"networks"`
}

// address is the service's fixed IPv4 address on network, or "".
func (s clusterService) address(network string) string {
	if s.Networks.Kind != yaml.MappingNode {
		return ""
	}
	var m map[string]struct {
		IPv4 string `yaml:"ipv4_address"`
	}
	_ = s.Networks.Decode(&m)
	return m[network].IPv4
}

// dispatcherNodes are the destinations of set 1 in a dispatcher list: URI -> duid.
func dispatcherNodes(t *testing.T, path string) map[string]string {
	t.Helper()
	nodes := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, path)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") || f[0] != "1" {
			continue
		}
		m := regexp.MustCompile(`duid=([^;\s]+)`).FindStringSubmatch(sc.Text())
		if len(f) < 5 || m == nil {
			t.Errorf("%s: %q: want setid, URI, flags, priority and duid=", path, sc.Text())
			continue
		}
		nodes[f[1]] = m[1]
	}
	return nodes
}

// deploy/cluster: three hotline nodes, each its own config loaded by the real loader, share
// one store, one Redis and the same queues and agents; Kamailio's list names the three at
// the addresses their configs listen on; Kamailio's address is exempt from the per-source
// guards on every node; each node publishes its own RTP range.
func TestClusterCompose(t *testing.T) {
	var c clusterCompose
	dec := yaml.NewDecoder(bytes.NewReader(readFile(t, "cluster/compose.yaml")))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("cluster/compose.yaml: %v", err)
	}
	for _, s := range []string{"kamailio", "hotline-1", "hotline-2", "hotline-3", "postgres", "redis"} {
		if _, ok := c.Services[s]; !ok {
			t.Fatalf("cluster/compose.yaml has no %s service", s)
		}
	}
	var subnet netip.Prefix
	if n, ok := c.Networks["hotline"]; !ok || len(n.IPAM.Config) != 1 {
		t.Fatal("cluster/compose.yaml: no network hotline with one fixed subnet")
	} else {
		var err error
		if subnet, err = netip.ParsePrefix(n.IPAM.Config[0].Subnet); err != nil {
			t.Fatalf("network hotline: %v", err)
		}
	}
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, ".") {
				if _, err := os.Stat(filepath.Join("cluster", src)); err != nil {
					t.Errorf("service %s mounts %s, which does not exist", name, src)
				}
			} else if _, ok := c.Volumes[src]; !ok {
				t.Errorf("service %s uses volume %s, not declared under volumes", name, src)
			}
		}
		if s.Build != nil {
			df := s.Build.Dockerfile
			if df == "" {
				df = "Dockerfile"
			}
			if _, err := os.Stat(filepath.Join("cluster", s.Build.Context, df)); err != nil {
				t.Errorf("service %s builds %s in %s: %v", name, df, s.Build.Context, err)
			}
		}
	}

	kam := c.Services["kamailio"]
	kamIP, err := netip.ParseAddr(kam.address("hotline"))
	if err != nil || !subnet.Contains(kamIP) {
		t.Fatalf("kamailio needs a fixed address in %s, got %q", subnet, kam.address("hotline"))
	}
	listSrc := mountSource(kam.Volumes, "/etc/kamailio/dispatcher.list")
	if listSrc == "" {
		t.Fatal("kamailio does not mount a dispatcher list at /etc/kamailio/dispatcher.list")
	}
	list := dispatcherNodes(t, filepath.Join("cluster", listSrc))
	if len(list) != 3 {
		t.Errorf("%s names %d nodes in set 1, want the 3 hotline services", listSrc, len(list))
	}
	if !slices.Contains(kam.Ports, "5060:5060/udp") {
		t.Errorf("kamailio publishes %v, not SIP 5060/udp", kam.Ports)
	}

	pg := c.Services["postgres"].Environment
	var first *config.Config
	var ranges [][2]int
	for _, name := range []string{"hotline-1", "hotline-2", "hotline-3"} {
		s := c.Services[name]
		if s.Build == nil || filepath.Clean(s.Build.Context) != "../.." || s.Build.Dockerfile != "deploy/Dockerfile" {
			t.Errorf("%s must be built from the repository root with deploy/Dockerfile, got %+v", name, s.Build)
		}
		i := slices.Index(s.Command, "--config")
		if i < 0 || i+1 >= len(s.Command) {
			t.Fatalf("%s: command %v has no --config", name, s.Command)
		}
		src := mountSource(s.Volumes, s.Command[i+1])
		if src == "" {
			t.Fatalf("%s: --config %s is not mounted", name, s.Command[i+1])
		}
		file := filepath.Join("cluster", src)
		cfg, err := config.Load(file)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if cfg.Cluster.Node != name || !cfg.Cluster.Shared {
			t.Errorf("%s: cluster %+v; want node %s (the service's name), shared", file, cfg.Cluster, name)
		}
		if host, _, _ := net.SplitHostPort(cfg.Redis.Addr); host != "redis" {
			t.Errorf("%s: redis.addr %q is not the redis service", file, cfg.Redis.Addr)
		}
		if !strings.Contains(cfg.Store.DSN, "://"+pg["POSTGRES_USER"]+":"+pg["POSTGRES_PASSWORD"]+"@postgres:5432/"+pg["POSTGRES_DB"]+"?") {
			t.Errorf("%s: store.dsn %q is not the postgres service's database", file, cfg.Store.DSN)
		}
		host, port, _ := net.SplitHostPort(cfg.SIP.Addr)
		if host != s.address("hotline") {
			t.Errorf("%s: sip.addr %s, but the service's address is %q", file, cfg.SIP.Addr, s.address("hotline"))
		}
		uri := "sip:" + host + ":" + port + ";transport=udp"
		if list[uri] != name {
			t.Errorf("%s: the dispatcher list has no %s with duid=%s (it has %v)", name, uri, name, list)
		}
		for key, ex := range map[string][]string{"sip.auth.exempt": cfg.SIP.Auth.Exempt, "sip.limits.exempt": cfg.SIP.Limits.Exempt} {
			if !slices.Contains(ex, kamIP.String()) {
				t.Errorf("%s: %s %v lacks Kamailio's %s: every phone's REGISTER comes from it", file, key, ex, kamIP)
			}
		}
		if cfg.SIP.MaxExpires > 300 {
			t.Errorf("%s: sip.max_expires %d: a phone registered through a dead node would wait that long", file, cfg.SIP.MaxExpires)
		}
		rtp := strconv.Itoa(cfg.SIP.RTPPortMin) + "-" + strconv.Itoa(cfg.SIP.RTPPortMax)
		if !slices.Contains(s.Ports, rtp+":"+rtp+"/udp") {
			t.Errorf("%s publishes %v, not its RTP range %s/udp", name, s.Ports, rtp)
		}
		for _, r := range ranges {
			if cfg.SIP.RTPPortMin <= r[1] && r[0] <= cfg.SIP.RTPPortMax {
				t.Errorf("%s: RTP range %s overlaps another node's %d-%d on the same host", name, rtp, r[0], r[1])
			}
		}
		ranges = append(ranges, [2]int{cfg.SIP.RTPPortMin, cfg.SIP.RTPPortMax})
		if first == nil {
			first = &cfg
			continue
		}
		// What the shared distributor compares: a node whose queues and agents differ refuses to join.
		if !reflect.DeepEqual(cfg.Queues, first.Queues) || !reflect.DeepEqual(cfg.Agents, first.Agents) ||
			!reflect.DeepEqual(cfg.Flows, first.Flows) || cfg.SIP.Realm != first.SIP.Realm || cfg.Cluster.Prefix != first.Cluster.Prefix {
			t.Errorf("%s: queues, agents, flows, realm or cluster.prefix differ from hotline-1's", file)
		}
	}

	// The compose variant's list and the shipped configuration pass kamailio -c.
	kamailioCheck(t, filepath.Join("cluster", listSrc))
}

// kamailioCheck runs kamailio -c on kamailio.cfg with list as its dispatcher list, set with
// -A as the top of kamailio.cfg says, and a loopback listen address of its own.
func kamailioCheck(t *testing.T, list string, defines ...string) {
	t.Helper()
	kam := testenv.Tool(t, "kamailio")
	abs, _ := filepath.Abs(list)
	args := []string{"-c", "-f", "kamailio/kamailio.cfg", "-A", `DISPATCHER_LIST="` + abs + `"`,
		"-A", "LISTEN=udp:127.0.0.1:15060", "-A", "LISTEN_TCP=tcp:127.0.0.1:15060"}
	for _, d := range defines {
		args = append(args, "-A", d)
	}
	out, err := exec.Command(kam, args...).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("config file ok")) {
		t.Errorf("kamailio %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if !bytes.Contains(out, []byte("udp: 127.0.0.1 [127.0.0.1]:15060")) {
		t.Errorf("kamailio -A LISTEN=udp:127.0.0.1:15060 does not listen there:\n%s", out)
	}
}

// deploy/kubernetes/cluster: a StatefulSet of several pods, each named by the downward API
// (cluster.node = the pod's name) on the node's network, the shared config passing the
// loader once rendered, Kamailio's list naming every replica, and a kustomization that
// applies every manifest and only those.
func TestKubernetesCluster(t *testing.T) {
	dir := "kubernetes/cluster"
	var kz struct {
		Namespace string   `yaml:"namespace"`
		Resources []string `yaml:"resources"`
	}
	if err := yaml.Unmarshal(readFile(t, dir+"/kustomization.yaml"), &kz); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(dir + "/*.yaml")
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" && !slices.Contains(kz.Resources, b) {
			t.Errorf("%s/kustomization.yaml does not apply %s", dir, b)
		}
	}
	objs := map[string][]k8sObject{}
	for _, r := range kz.Resources {
		dec := yaml.NewDecoder(bytes.NewReader(readFile(t, filepath.Join(dir, r))))
		for {
			var o k8sObject
			err := dec.Decode(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s/%s: %v", dir, r, err)
			}
			if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
				t.Errorf("%s/%s: a document without apiVersion, kind or metadata.name", dir, r)
			}
			objs[o.Kind+"/"+o.Metadata.Name] = append(objs[o.Kind+"/"+o.Metadata.Name], o)
		}
	}
	get := func(key string) k8sObject {
		t.Helper()
		if len(objs[key]) != 1 {
			t.Fatalf("%s: want one %s, found %d", dir, key, len(objs[key]))
		}
		return objs[key][0]
	}

	var sts struct {
		Replicas    int    `yaml:"replicas"`
		ServiceName string `yaml:"serviceName"`
		Template    struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				HostNetwork    bool `yaml:"hostNetwork"`
				InitContainers []struct {
					k8sContainer `yaml:",inline"`
					Env          []struct {
						Name      string `yaml:"name"`
						ValueFrom struct {
							FieldRef struct {
								FieldPath string `yaml:"fieldPath"`
							} `yaml:"fieldRef"`
						} `yaml:"valueFrom"`
					} `yaml:"env"`
				} `yaml:"initContainers"`
				Containers []k8sContainer `yaml:"containers"`
				Volumes    []struct {
					Name      string `yaml:"name"`
					ConfigMap *struct {
						Name string `yaml:"name"`
					} `yaml:"configMap"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	}
	stsObj := get("StatefulSet/hotline")
	if err := stsObj.Spec.Decode(&sts); err != nil {
		t.Fatal(err)
	}
	if sts.Replicas < 2 || !sts.Template.Spec.HostNetwork {
		t.Errorf("StatefulSet: %d replicas, hostNetwork %v; want several, on the node's network (RTP ports)", sts.Replicas, sts.Template.Spec.HostNetwork)
	}
	svc := get("Service/" + sts.ServiceName)
	var svcSpec struct {
		ClusterIP string `yaml:"clusterIP"`
	}
	if err := svc.Spec.Decode(&svcSpec); err != nil || svcSpec.ClusterIP != "None" {
		t.Errorf("Service %s must be headless (the pods' DNS names for Kamailio): %v", sts.ServiceName, err)
	}
	fields := map[string]string{}
	var script string
	for _, ic := range sts.Template.Spec.InitContainers {
		script += strings.Join(ic.Command, " ")
		for _, e := range ic.Env {
			fields[e.Name] = e.ValueFrom.FieldRef.FieldPath
		}
	}
	if fields["POD_NAME"] != "metadata.name" || !strings.Contains(script, `node: \"${POD_NAME}\"`) {
		t.Errorf("the init container must write cluster.node from the pod's name (downward API); env %v", fields)
	}
	var cmName string
	for _, v := range sts.Template.Spec.Volumes {
		if v.ConfigMap != nil {
			cmName = v.ConfigMap.Name
		}
	}
	cm := get("ConfigMap/" + cmName)
	rendered := strings.NewReplacer("  node: \"\"", "  node: \"hotline-1\"", "  public_addr: \"\"", "  public_addr: \"192.0.2.21\"").Replace(cm.Data["hotline.yaml"])
	if rendered == cm.Data["hotline.yaml"] {
		t.Fatal("configmap: no `  node: \"\"` or `  public_addr: \"\"` line for the init container to fill in")
	}
	cfg := parseHotlineConfig(t, cmName+"/hotline.yaml", []byte(rendered))
	if cfg.Cluster.Node != "hotline-1" || cfg.SIP.PublicAddr != "192.0.2.21" || !cfg.Cluster.Shared {
		t.Errorf("rendered config: node %q public_addr %q shared %v", cfg.Cluster.Node, cfg.SIP.PublicAddr, cfg.Cluster.Shared)
	}
	_, sipPort, _ := net.SplitHostPort(cfg.SIP.Addr)

	kamCM := get("ConfigMap/kamailio-dispatcher")
	f := filepath.Join(t.TempDir(), "dispatcher.list")
	if err := os.WriteFile(f, []byte(kamCM.Data["dispatcher.list"]), 0o644); err != nil {
		t.Fatal(err)
	}
	nodes := dispatcherNodes(t, f)
	for i := range sts.Replicas {
		pod := "hotline-" + strconv.Itoa(i)
		uri := "sip:" + pod + "." + sts.ServiceName + "." + kz.Namespace + ".svc.cluster.local:" + sipPort + ";transport=udp"
		if nodes[uri] != pod {
			t.Errorf("kamailio's dispatcher list lacks %s (duid=%s); it has %v", uri, pod, nodes)
		}
	}
	if len(nodes) != sts.Replicas {
		t.Errorf("kamailio's dispatcher list has %d nodes for %d replicas", len(nodes), sts.Replicas)
	}
	var kamDep k8sDeploymentSpec
	kamObj := get("Deployment/kamailio")
	if err := kamObj.Spec.Decode(&kamDep); err != nil {
		t.Fatal(err)
	}
	if len(kamDep.Template.Spec.Containers) != 1 || !slices.Contains(kamDep.Template.Spec.Containers[0].Args, `DISPATCHER_LIST="/etc/kamailio/list/dispatcher.list"`) {
		t.Errorf("the Kamailio container must point DISPATCHER_LIST at its mounted list: %+v", kamDep.Template.Spec.Containers)
	}
	kamailioCheck(t, f)
}
