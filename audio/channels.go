package audio

import (
	"fmt"
	"io"
	"os"
)

// DecodeWAVChannels reads a WAV file like DecodeWAV but keeps its channels apart: one PCM16
// slice per channel, at the file's own rate. Conversation recordings are two-channel (the
// caller left, the agents right), and who said what is in which channel.
func DecodeWAVChannels(r io.Reader) ([][]int16, Format, error) {
	data, f, err := readData(r)
	if err != nil {
		return nil, f, err
	}
	bps := f.Bits / 8
	frame := bps * f.Channels
	n := len(data) / frame
	out := make([][]int16, f.Channels)
	for c := range out {
		out[c] = make([]int16, n)
	}
	for i := range n {
		for c := range f.Channels {
			out[c][i] = wavSample(data[i*frame+c*bps:], f)
		}
	}
	return out, f, nil
}

// LoadWAVChannels reads the WAV file at path with its channels apart (see DecodeWAVChannels).
func LoadWAVChannels(path string) ([][]int16, Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, Format{}, err
	}
	defer f.Close()
	ch, format, err := DecodeWAVChannels(f)
	if err != nil {
		return nil, format, fmt.Errorf("%s: %w", path, err)
	}
	return ch, format, nil
}
