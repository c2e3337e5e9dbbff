#!/usr/bin/env bash
# Sentiment throughput side by side: ticketpulse (`sentiment score`, one core) against
# vaderSentiment (English) and SnowNLP (Chinese) on the same customer messages, drawn from
# `ticketpulse generate` (the gen_events.py templates).
#   TICKETPULSE_PEER_PYTHON=~/.cache/ticketpulse/peer-venv/bin/python bench/sentiment.sh [CONVERSATIONS]
# The Python environment needs vaderSentiment and snownlp (pip install vaderSentiment snownlp).
set -euo pipefail
n="${1:-40000}"
py="${TICKETPULSE_PEER_PYTHON:-python3}"
here="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build --release -q -p ticketpulse --manifest-path "$here/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$here/target}/release/ticketpulse"
"$bin" generate --conversations "$n" --days 2 --seed 5 --out "$work/events.jsonl" >/dev/null
"$py" - "$work" <<'PY'
import json, sys
w = sys.argv[1]
zh, en = open(f"{w}/zh.txt", "w"), open(f"{w}/en.txt", "w")
for line in open(f"{w}/events.jsonl", encoding="utf-8"):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if isinstance(e, dict) and e.get("type") == "message" and e.get("role") == "customer" and isinstance(e.get("text"), str):
        t = e["text"].replace("\n", " ")
        (zh if any("\u4e00" <= c <= "\u9fff" for c in t) else en).write(t + "\n")
PY
for lang in en zh; do
  lines=$(wc -l < "$work/$lang.txt")
  start=$(date +%s.%N)
  taskset -c 0 "$bin" sentiment score "$work/$lang.txt" > /dev/null
  end=$(date +%s.%N)
  awk -v n="$lines" -v s="$start" -v e="$end" -v l="$lang" \
    'BEGIN { printf "ticketpulse sentiment score: %d %s messages in %.2f s = %.0f messages/s (incl. start-up and output)\n", n, l, e - s, n / (e - s) }'
done
taskset -c 0 "$py" "$here/bench/sentiment_peers.py" "$work/en.txt" "$work/zh.txt"
