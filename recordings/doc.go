// Package recordings keeps voicemail and call recordings as WAV files with their SHA-256,
// size and duration, written so that a saved recording survives a crash. It stores bytes and
// decides nothing: what to keep and for how long is the customer store's call.
package recordings
