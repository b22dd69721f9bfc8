package ari

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// deploy/hotline-ari.yaml is what the compose layout runs: its ARI endpoints must be ones the
// driver accepts and pjsip.conf defines. Without ari.trunk_endpoint a queued caller who takes
// a callback is never called back (the number is unreachable).
func TestDeployConfigEndpoints(t *testing.T) {
	root := filepath.Join("..", "deploy")
	data, err := os.ReadFile(filepath.Join(root, "hotline-ari.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ARI struct {
			Endpoint      string `yaml:"endpoint"`
			TrunkEndpoint string `yaml:"trunk_endpoint"`
		} `yaml:"ari"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := NewDriver(&Client{}, DriverConfig{Endpoint: cfg.ARI.Endpoint, URIEndpoint: cfg.ARI.TrunkEndpoint}, nil); err != nil {
		t.Fatalf("deploy/hotline-ari.yaml ari endpoints: %v", err)
	}
	sections := pjsipSections(t, filepath.Join(root, "asterisk", "pjsip.conf"))
	tech, rest, ok := strings.Cut(cfg.ARI.TrunkEndpoint, "/")
	_, trunk, at := strings.Cut(rest, "@")
	if !ok || tech != "PJSIP" || !at || !strings.Contains(rest, "%s") {
		t.Fatalf("ari.trunk_endpoint = %q; want PJSIP/%%s@<trunk endpoint of pjsip.conf>, so callbacks can be placed", cfg.ARI.TrunkEndpoint)
	}
	if sections[trunk]["type"] != "endpoint" {
		t.Errorf("ari.trunk_endpoint names endpoint %q, which deploy/asterisk/pjsip.conf does not define", trunk)
	}
}

// pjsipSections reads an Asterisk config: section name -> type (sections may repeat, as
// the endpoint, aor and auth of one agent do; any type wins over none).
func pjsipSections(t *testing.T, path string) map[string]map[string]string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[string]string{}
	var cur string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), ";")
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			name, _, _ := strings.Cut(line[1:], "]")
			cur = name
			if out[cur] == nil {
				out[cur] = map[string]string{}
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if ok && cur != "" && strings.TrimSpace(k) == "type" && strings.TrimSpace(v) == "endpoint" {
			out[cur]["type"] = "endpoint"
		}
	}
	return out
}
