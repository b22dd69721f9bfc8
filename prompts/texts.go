package prompts

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hotline-cc/hotline/call"
)

//go:embed texts/*.yaml
var shippedTexts embed.FS

// Texts are the sentences hotline speaks outside flows (the waiting room, callbacks, agents'
// feature codes): templates by language and key, with {name} placeholders. The shipped
// English and Mandarin are the defaults; an operator changes or translates them with files
// <prompts.dir>/texts/<lang>.yaml. A language without a text for a key speaks English.
type Texts struct {
	by map[string]map[string]string // base language -> key -> template
}

var placeholderRE = regexp.MustCompile(`\{([a-z_]+)\}`)

var shippedOnce = sync.OnceValue(func() *Texts {
	t, err := loadTexts(shippedTexts, "texts", nil)
	if err != nil {
		panic("prompts: shipped texts: " + err.Error())
	}
	return t
})

// ShippedTexts are the texts built into the binary.
func ShippedTexts() *Texts { return shippedOnce() }

// LoadTexts is the shipped texts with the files in dir/texts/*.yaml laid over them ("" or no
// such folder: the shipped texts). A key the shipped English does not have, or a placeholder
// its English text does not use, is an error that names the file and line.
func LoadTexts(dir string) (*Texts, error) {
	if dir == "" {
		return ShippedTexts(), nil
	}
	if _, err := os.Stat(filepath.Join(dir, "texts")); errors.Is(err, fs.ErrNotExist) {
		return ShippedTexts(), nil
	}
	return loadTexts(os.DirFS(dir), "texts", ShippedTexts())
}

func loadTexts(fsys fs.FS, dir string, base *Texts) (*Texts, error) {
	t := &Texts{by: map[string]map[string]string{}}
	if base != nil {
		for lang, m := range base.by {
			t.by[lang] = maps(m)
		}
	}
	names, err := fs.Glob(fsys, dir+"/*.yaml")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	var errs []error
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(b, &doc); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		lang := Base(strings.TrimSuffix(filepath.Base(name), ".yaml"))
		if t.by[lang] == nil {
			t.by[lang] = map[string]string{}
		}
		if len(doc.Content) == 0 {
			continue
		}
		m := doc.Content[0]
		if m.Kind != yaml.MappingNode {
			errs = append(errs, fmt.Errorf("%s:%d:%d: want key: text lines", name, m.Line, m.Column))
			continue
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			at := fmt.Sprintf("%s:%d:%d", name, k.Line, k.Column)
			if v.Kind != yaml.ScalarNode || strings.TrimSpace(v.Value) == "" {
				errs = append(errs, fmt.Errorf("%s: %s: want a sentence", at, k.Value))
				continue
			}
			if base != nil {
				en, known := base.by["en"][k.Value]
				if !known {
					errs = append(errs, fmt.Errorf("%s: unknown text %q; known texts: %s", at, k.Value, strings.Join(base.Keys(), ", ")))
					continue
				}
				for _, p := range placeholderRE.FindAllStringSubmatch(v.Value, -1) {
					if !strings.Contains(en, "{"+p[1]+"}") {
						errs = append(errs, fmt.Errorf("%s: %s: {%s} is not filled in for this text; it has %s", at, k.Value, p[1], placeholders(en)))
					}
				}
			}
			t.by[lang][k.Value] = v.Value
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if base == nil && len(t.by["en"]) == 0 {
		return nil, errors.New("no English texts")
	}
	return t, nil
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func placeholders(s string) string {
	var out []string
	for _, p := range placeholderRE.FindAllString(s, -1) {
		out = append(out, p)
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

// Keys lists every text hotline speaks, sorted.
func (t *Texts) Keys() []string {
	keys := make([]string, 0, len(t.by["en"]))
	for k := range t.by["en"] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Text is the sentence for key in lang (English when lang has none), its placeholders
// filled from name, value pairs. An unknown key gives "".
func (t *Texts) Text(lang, key string, nameValues ...string) string {
	s, ok := t.by[Base(lang)][key]
	if !ok {
		s = t.by["en"][key]
	}
	for i := 0; i+1 < len(nameValues); i += 2 {
		s = strings.ReplaceAll(s, "{"+nameValues[i]+"}", nameValues[i+1])
	}
	return s
}

// Position is what a caller waiting in a queue hears: their place in line and, when
// known, the estimated wait, spoken in lang.
func (t *Texts) Position(lang string, position int, wait time.Duration) string {
	key := "queue_position"
	if position <= 1 {
		key = "queue_position_next"
	}
	if wait > 0 {
		key += "_wait"
	}
	return t.Text(lang, key, "position", SayOrdinal(lang, int64(position)), "wait", SayDuration(lang, wait))
}

// Speaker renders text as a prompt in a language; *Library is one, tests have their own.
type Speaker interface {
	Say(ctx context.Context, lang, text string) (call.Prompt, error)
}

var _ Speaker = (*Library)(nil)
