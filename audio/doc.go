// Package audio is hotline's one place for audio formats: WAV files read and written (RIFF,
// RFC 2361), G.711 µ-law/A-law (ITU-T G.711), resampling, levels and the recording defaults.
// It must not do I/O beyond the reader or file it is given, know calls or RTP, nor import
// anything but the standard library.
//
// The files, each with its test beside it:
//
//	wav.go       reading: Info/ReadInfo (the header only), DecodeWAV, ReadWAV (8 kHz mono)
//	writer.go    writing: EncodeWAV (in memory), WAVWriter (a recording, crash-safe header)
//	g711.go      PCM16 ↔ G.711 µ-law/A-law, table-driven, bit-exact with ITU-T G.191
//	resample.go  band-limited resampling (Kaiser-windowed sinc) between any two rates
//	level.go     RMS level, the silence threshold and the recording defaults
//	tone.go      test tones: Tone makes one, Frequency and Goertzel measure them
//
// Everything a packet path calls (the G.711 *Append functions) reuses the caller's buffer
// and does not allocate.
package audio
