package audio

import "errors"

// Sentinel errors. Functions wrap them with details (%w), so test with errors.Is.
var (
	// ErrNotWAV: the bytes are not a RIFF/WAVE file, or its chunks are broken (no fmt
	// chunk, data before fmt, no data chunk).
	ErrNotWAV = errors.New("wav: not a RIFF/WAVE file")
	// ErrUnsupportedWAV: a well-formed WAV file whose audio format this package does not
	// decode (MP3 in WAV, 12-bit PCM, 9 channels, ...).
	ErrUnsupportedWAV = errors.New("wav: unsupported format")
	// ErrWAVTooLong: a WAVWriter was given more audio than a WAV file's 32-bit sizes hold.
	ErrWAVTooLong = errors.New("wav: recording exceeds the 4 GiB WAV limit")
	// ErrWAVClosed: Write on a closed WAVWriter.
	ErrWAVClosed = errors.New("wav: writer closed")
)
