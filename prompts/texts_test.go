package prompts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Every shipped text exists in English; each translation uses only the placeholders its
// English text fills in, so a caller never hears "{wait}".
func TestShippedTexts(t *testing.T) {
	tx := ShippedTexts()
	if len(tx.Keys()) < 10 {
		t.Fatalf("shipped texts: %v", tx.Keys())
	}
	for _, lang := range []string{"en", "zh"} {
		for _, k := range tx.Keys() {
			s := tx.Text(lang, k, "position", "P", "wait", "W", "number", "N", "name", "X", "queue", "Q", "waited", "T", "agent", "A", "reason", "R")
			if strings.ContainsAny(s, "{}") || s == "" {
				t.Errorf("%s %s = %q: a placeholder is left or the text is empty", lang, k, s)
			}
		}
	}
	if got := tx.Text("zh-CN", "queue_offer_voicemail"); got != "如需留言，请按2。" {
		t.Errorf("zh-CN offer = %q", got)
	}
	if got := tx.Text("zh", "callback_no_answer"); got != tx.Text("en", "callback_no_answer") {
		t.Errorf("a key Mandarin does not have = %q, want the English", got)
	}
	if got := tx.Text("fr", "queue_position_next"); got != "You are next in line." {
		t.Errorf("a language with no texts = %q, want English", got)
	}
}

// An operator changes a sentence and adds a language with files in prompts.dir/texts; what
// they did not write stays as shipped.
func TestLoadTextsOverride(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "texts", "en.yaml"), "queue_callback_refused: \"We cannot call that number. Please hold.\"\n")
	write(t, filepath.Join(dir, "texts", "fr.yaml"), "queue_position_wait: \"Vous êtes {position} dans la file. Attente estimée : {wait}.\"\n")
	tx, err := LoadTexts(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := tx.Text("en", "queue_callback_refused"); got != "We cannot call that number. Please hold." {
		t.Errorf("override = %q", got)
	}
	if got := tx.Text("en", "queue_offer_callback"); got != ShippedTexts().Text("en", "queue_offer_callback") {
		t.Errorf("untouched key = %q", got)
	}
	if got := tx.Position("fr", 3, 2*time.Minute); got != "Vous êtes #3 dans la file. Attente estimée : 2min." {
		t.Errorf("French position = %q", got)
	}
	if got := tx.Position("fr", 1, 0); got != "You are next in line." {
		t.Errorf("French key not translated = %q, want English", got)
	}
	if ShippedTexts().Text("en", "queue_callback_refused") == tx.Text("en", "queue_callback_refused") {
		t.Error("loading an override changed the shipped texts")
	}
	if same, err := LoadTexts(t.TempDir()); err != nil || same != ShippedTexts() {
		t.Errorf("a prompts dir without texts: %v, %v", same, err)
	}
}

// A typo in a key or a placeholder is refused at start-up, with the file and line.
func TestLoadTextsErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "texts", "en.yaml"), "queue_position: \"You are {place} in line.\"\nqueue_positon_next: \"Next!\"\nagent_available: \"\"\n")
	_, err := LoadTexts(dir)
	if err == nil {
		t.Fatal("bad texts accepted")
	}
	for _, want := range []string{
		"texts/en.yaml:1:1: queue_position: {place} is not filled in for this text; it has {position}",
		`texts/en.yaml:2:1: unknown text "queue_positon_next"; known texts: `,
		"texts/en.yaml:3:1: agent_available: want a sentence",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\nlacks %q", err, want)
		}
	}
	write(t, filepath.Join(dir, "texts", "en.yaml"), "- a list\n")
	if _, err := LoadTexts(dir); err == nil || !strings.Contains(err.Error(), "texts/en.yaml:1:1: want key: text lines") {
		t.Errorf("a list: %v", err)
	}
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
