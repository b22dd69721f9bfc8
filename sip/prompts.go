package sip

import (
	"os"
	"sync"
	"time"

	"github.com/hotline-cc/hotline/audio"
)

// promptCache keeps decoded 8 kHz prompts so a menu played to a thousand callers is read
// and resampled once. An edited file (newer mtime) is read again.
type promptCache struct {
	max int
	mu  sync.Mutex
	m   map[string]cachedPrompt
}

type cachedPrompt struct {
	pcm   []int16
	mtime time.Time
}

func newPromptCache(max int) *promptCache {
	return &promptCache{max: max, m: map[string]cachedPrompt{}}
}

func (p *promptCache) load(path string) ([]int16, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	c, ok := p.m[path]
	p.mu.Unlock()
	if ok && c.mtime.Equal(st.ModTime()) {
		return c.pcm, nil
	}
	pcm, err := audio.LoadWAVFile(path)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if len(p.m) >= p.max {
		for k := range p.m { // evict one at random; prompts are cheap to reload
			delete(p.m, k)
			break
		}
	}
	p.m[path] = cachedPrompt{pcm: pcm, mtime: st.ModTime()}
	p.mu.Unlock()
	return pcm, nil
}
