#!/usr/bin/env bash
# The long crash test: tests/reliability.rs with 140 000 generated conversations over two days
# (about 1.03 M events) and 20 crashes (SIGKILL at random moments, and aborts halfway through a file
# write, after the checkpoint's commit point, and between the file and the offset commit), on a
# release build of the binary (driven by the test harness of a debug build), against a tansu
# broker started here on a free loopback port.
#   bench/crash.sh [conversations] [kills]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
conversations="${1:-140000}"
kills="${2:-20}"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log="$(mktemp)"
tansu broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
  --storage-engine memory://tansu/ >"$log" 2>&1 &
broker=$!
trap 'kill "$broker" 2>/dev/null || true; rm -f "$log"' EXIT
sleep 1
# the release build may live in another target folder (RELEASE_TARGET_DIR) than the test harness
release="${RELEASE_TARGET_DIR:-${CARGO_TARGET_DIR:-$here/target}}"
CARGO_TARGET_DIR="$release" cargo build --release -q -p ticketpulse --manifest-path "$here/Cargo.toml"
start=$(date +%s)
TICKETPULSE_BIN="$release/release/ticketpulse" TICKETPULSE_TEST_BROKERS="127.0.0.1:$port" TICKETPULSE_CRASH_CONVERSATIONS="$conversations" \
  TICKETPULSE_CRASH_KILLS="$kills" \
  cargo test -q -p ticketpulse --manifest-path "$here/Cargo.toml" --test reliability \
  crashes_at_any_moment -- --nocapture
echo "took $(( $(date +%s) - start )) s"
