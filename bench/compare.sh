#!/usr/bin/env bash
# Side-by-side throughput and peak memory on one generated file, in one run:
#   1. the Python peer (../shared/bench/peer_reference.py --sentiment none),
#   2. a decode-only pass (`ticketpulse check`: read + parse every line),
#   3. `ticketpulse run --input` (file source, every operator, Parquet + dead letters),
#   4. `ticketpulse produce` into tansu (one-record batches) and `ticketpulse run --brokers`.
# Usage: bench/compare.sh [CONVERSATIONS] [DAYS] [SEED]   (defaults: 20000 2 11)
# Needs: a release build (made here), tansu, GNU time, and a Python with pandas + scikit-learn
# ($TICKETPULSE_PEER_PYTHON, as set up by tests/run; default python3). Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
conversations=${1:-20000}
days=${2:-2}
seed=${3:-11}
shared=${TICKETPULSE_SHARED:-../shared}
py=${TICKETPULSE_PEER_PYTHON:-python3}
target=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p ticketpulse
tp="$target/release/ticketpulse"
work=$(mktemp -d)
trap 'kill "${broker:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

"$py" "$shared/bench/gen_events.py" --conversations "$conversations" --days "$days" --seed "$seed" --out "$work/events.jsonl" 2>/dev/null
lines=$(wc -l <"$work/events.jsonl")

# measure NAME CMD...: wall seconds and peak RSS (MiB) of CMD
measure() {
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/$name.out" 2>"$work/$name.err"
  read -r secs kib <"$work/time"
  awk -v n="$name" -v l="$lines" -v s="$secs" -v k="$kib" 'BEGIN { printf "| %s | %d | %.2f | %.0f | %.0f |\n", n, l, s, l / s, k / 1024 }'
}

port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
tansu broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
  --storage-engine memory://tansu/ >"$work/tansu.log" 2>&1 &
broker=$!
sleep 1

echo "file: gen_events.py --conversations $conversations --days $days --seed $seed ($lines lines); $(nproc) cores; $(date -u +%F)"
echo
echo "| what | lines | wall s | lines/s | peak RSS MiB |"
echo "|---|---|---|---|---|"
measure "python peer (pandas; load+metrics+topics)" "$py" "$shared/bench/peer_reference.py" "$work/events.jsonl" --sentiment none
measure "decode only (ticketpulse check)" "$tp" check --input "$work/events.jsonl"
measure "run --input" "$tp" run --input "$work/events.jsonl" --out "$work/file" --allowed-lateness 20m --metrics-addr 127.0.0.1:0
measure "produce to tansu (1-record batches)" "$tp" produce --brokers "127.0.0.1:$port" --topic bench --input "$work/events.jsonl" -X batch.num.messages=1 -X linger.ms=0
measure "run --brokers (incl. group join, 2 s idle stop)" "$tp" run --brokers "127.0.0.1:$port" --topic bench --group bench --out "$work/kafka" --allowed-lateness 20m --stop-when-idle 2s --metrics-addr 127.0.0.1:0
echo
"$py" - "$work" <<'PY'
import json, pathlib, sys
work = pathlib.Path(sys.argv[1])
peer = json.loads((work / "python peer (pandas; load+metrics+topics).out").read_text())
t = peer["timings_s"]
print(f"- peer stages (s): load {t['load_s']}, metrics {t['metrics_s']}, topics {t['topics_s']}, total {t['total_s']}; "
      f"its load+metrics alone: {peer['events_valid'] / (t['load_s'] + t['metrics_s']):.0f} events/s")
for name in ["run --input", "run --brokers (incl. group join, 2 s idle stop)"]:
    lines = (work / f"{name}.out").read_text().splitlines()
    print(f"- {name}: " + "; ".join(l for l in lines[:2]))
PY
