package ivr

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotline-cc/hotline/flows"
)

// Library serves the current version of a directory of flows and reloads it when files
// change. A reload that does not check clean is refused: it is logged with its diagnostics
// and the previous version keeps serving. Each call should take one Set (or Flow) when it
// starts and keep it: a reload never changes a Set that calls are running.
type Library struct {
	fsys  fs.FS
	label string
	cat   *Catalog
	log   *slog.Logger

	cur atomic.Pointer[Set]

	mu      sync.Mutex
	hash    [32]byte // sources now serving
	refused [32]byte // sources last refused, so one broken edit is logged once
}

// LibraryOption configures a Library.
type LibraryOption func(*Library)

// WithLibraryLogger sets the logger reloads are reported to.
func WithLibraryLogger(l *slog.Logger) LibraryOption { return func(lib *Library) { lib.log = l } }

// OpenLibrary loads every *.yaml and *.yml at the root of fsys. label is the directory
// shown in messages ("flows" gives "flows/hotline.yaml:3:5: ..."). It fails with
// Diagnostics when the flows do not check clean.
func OpenLibrary(fsys fs.FS, label string, cat *Catalog, opts ...LibraryOption) (*Library, error) {
	l := &Library{fsys: fsys, label: label, cat: cat, log: slog.Default()}
	for _, o := range opts {
		o(l)
	}
	l.log = l.log.With("component", "flows")
	srcs, sum, err := l.read()
	if err != nil {
		return nil, err
	}
	set, diags := Compile(cat, srcs...)
	if len(diags) > 0 {
		return nil, diags
	}
	if len(set.names) == 0 {
		return nil, fmt.Errorf("flows: no .yaml files in %s", label)
	}
	l.cur.Store(set)
	l.hash = sum
	return l, nil
}

// OpenDir is OpenLibrary on a directory of the file system.
func OpenDir(dir string, cat *Catalog, opts ...LibraryOption) (*Library, error) {
	return OpenLibrary(os.DirFS(dir), dir, cat, opts...)
}

// ReadSources reads the flow files at the root of fsys, sorted by name, naming them
// label/NAME for messages.
func ReadSources(fsys fs.FS, label string) ([]Source, error) {
	ents, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("flows: %w", err)
	}
	var srcs []Source
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
			continue
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("flows: %w", err)
		}
		file := name
		if label != "" && label != "." {
			file = path.Join(label, name)
		}
		srcs = append(srcs, Source{File: file, Data: b})
	}
	sort.Slice(srcs, func(i, j int) bool { return srcs[i].File < srcs[j].File })
	return srcs, nil
}

func (l *Library) read() ([]Source, [32]byte, error) {
	srcs, err := ReadSources(l.fsys, l.label)
	if err != nil {
		return nil, [32]byte{}, err
	}
	h := sha256.New()
	for _, s := range srcs {
		fmt.Fprintf(h, "%s\x00%d\x00", s.File, len(s.Data))
		h.Write(s.Data)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return srcs, sum, nil
}

// Set is the version now serving.
func (l *Library) Set() *Set { return l.cur.Load() }

// Flow is the named flow of the version now serving, or nil.
func (l *Library) Flow(name string) *Flow { return l.cur.Load().Flow(name) }

// Reload reads the files again. Unchanged files cost a read and a hash. A clean change
// becomes the version new calls get; a broken one is refused with its Diagnostics (logged
// once per distinct content) and the old version keeps serving.
func (l *Library) Reload() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	srcs, sum, err := l.read()
	if err != nil {
		l.log.Warn("flows not reloaded: cannot read them", "dir", l.label, "err", err)
		return err
	}
	if sum == l.hash {
		return nil
	}
	set, diags := Compile(l.cat, srcs...)
	if len(diags) == 0 && len(set.names) == 0 {
		diags = Diagnostics{{File: l.label, Line: 1, Col: 1, Msg: "no flow files left; keeping the flows that were serving"}}
	}
	if len(diags) > 0 {
		if sum != l.refused {
			l.refused = sum
			lines := make([]string, len(diags))
			for i, d := range diags {
				lines[i] = d.String()
			}
			l.log.Error("edited flows refused; the previous version keeps serving",
				"dir", l.label, "errors", len(diags), "diagnostics", strings.Join(lines, "\n"))
		}
		return diags
	}
	old := l.cur.Load()
	l.cur.Store(set)
	l.hash = sum
	var changed []string
	for _, name := range set.names {
		if o := old.Flow(name); o == nil || o.Version != set.flows[name].Version {
			changed = append(changed, name+"@"+set.flows[name].Version)
		}
	}
	l.log.Info("flows reloaded; new calls use the new version", "dir", l.label, "changed", strings.Join(changed, ", "))
	return nil
}

// Watch reloads every interval until ctx ends.
func (l *Library) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = l.Reload()
		}
	}
}

// ErrBrokenFlow is returned by Run for a flow from a Set that did not check clean.
var ErrBrokenFlow = errors.New("ivr: flow has errors and cannot run")

// Config is which flows a Library opens and the flows calls enter. The wiring fills it from
// the configuration file; errors name the file's keys.
type Config struct {
	Dir          string            // flows.dir: flow files; "" = the shipped flows
	Entry        string            // flows.entry: the flow inbound calls start in
	DefaultEntry string            // sip.default_entry: the flow for dialed numbers that match nothing
	Routes       map[string]string // flows.routes: dialed number -> flow
}

// OpenFlows opens the flows cfg names: cfg.Dir, or the shipped flows (embedded) when it is empty.
// It also checks that the entry, the default entry and every route target is a flow. The
// error is what `hotline serve` prints when it refuses to start: Diagnostics
// (file:line:col: message, one a line) or an error naming the configuration key.
func OpenFlows(cfg Config, cat *Catalog, opts ...LibraryOption) (*Library, error) {
	var lib *Library
	var err error
	if cfg.Dir != "" {
		lib, err = OpenDir(cfg.Dir, cat, opts...)
	} else {
		lib, err = OpenLibrary(flows.FS, "flows", cat, opts...)
	}
	if err != nil {
		return nil, err
	}
	var errs []error
	need := func(key, name string) {
		if name != "" && lib.Flow(name) == nil {
			errs = append(errs, fmt.Errorf("%s: no flow named %q%s; flows: %s", key, name, suggest(name, lib.Set().Names()), strings.Join(lib.Set().Names(), ", ")))
		}
	}
	need("flows.entry", cfg.Entry)
	need("sip.default_entry", cfg.DefaultEntry)
	routes := make([]string, 0, len(cfg.Routes))
	for k := range cfg.Routes {
		routes = append(routes, k)
	}
	sort.Strings(routes)
	for _, k := range routes {
		need("flows.routes."+k, cfg.Routes[k])
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return lib, nil
}
