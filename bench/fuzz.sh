#!/usr/bin/env bash
# The long fuzz run of the decoder (pipeline/src/decode/fuzz.rs): arbitrary bytes, mutated valid
# records and hostile JSON objects for the given number of seconds (default 600), on the test
# build (the library and its dependencies are optimised even there, see Cargo.toml); prints the
# cases run per generator.
#   bench/fuzz.sh [seconds]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
secs="${1:-600}"
start=$(date +%s)
TICKETPULSE_FUZZ_SECS="$secs" cargo test -q -p ticketpulse-pipeline --manifest-path "$here/Cargo.toml" \
  --lib decode::fuzz -- --nocapture
echo "ran $(( $(date +%s) - start )) s in all"
