#!/bin/sh
# Regenerates the shipped prompts with sox (8 kHz mono PCM16, small enough to embed).
# hold-music: a 5.6 s loop of plucked C–Am–F–G arpeggios; beep: 250 ms at 1 kHz.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
i=0
for chord in "C4 E4 G4 E5" "A3 C4 E4 C5" "F3 A3 C4 A4" "G3 B3 D4 B4"; do
	for n in $chord; do
		i=$((i + 1))
		sox -n -r 8000 -b 16 -c 1 "$(printf "$tmp/n%02d.wav" $i)" synth 0.35 pluck "$n" fade q 0.01 0.35 0.12 gain -9
	done
done
sox "$tmp"/n*.wav "$tmp/hm.wav" reverb 30 40 60 remix - gain -n -6 fade q 0.05 5.6 0.05 rate 8000
sox "$tmp/hm.wav" -r 8000 -b 16 -c 1 hold-music.wav trim 0 5.6
sox -n -r 8000 -b 16 -c 1 beep.wav synth 0.25 sine 1000 fade q 0.01 0.25 0.02 gain -8
