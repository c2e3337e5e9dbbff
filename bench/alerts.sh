#!/usr/bin/env bash
# Spike alerting on a week of generated support traffic: `ticketpulse alerts backtest` over
# gen_events.py --conversations 300000 --days 7 --seed 5, once with five injected spikes (different
# channels, topics, sizes 3-10x, times of day: evening peak, morning, night, early morning,
# afternoon) and once with --no-spike; prints recall, detection delay and false alerts per day.
#   bench/alerts.sh
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
shared="$here/../shared"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build --release -q -p ticketpulse --manifest-path "$here/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$here/target}/release/ticketpulse"
spikes=(
  --spike battery_heat:weibo:2026-11-05T20:00:00+08:00:45:8
  --spike logistics:app:2026-11-04T11:10:00+08:00:60:3
  --spike refund:wechat:2026-11-06T01:30:00+08:00:45:5
  --spike login:email:2026-11-07T09:05:00+08:00:50:6
  --spike cannot_boot:douyin:2026-11-08T15:20:00+08:00:30:10
)
echo "| file | spikes | found | within two windows | delay (min) | alerts fired | false alerts | per simulated day | backtest |"
echo "|---|---|---|---|---|---|---|---|---|"
for kind in spikes no-spike; do
  if [ "$kind" = spikes ]; then args=("${spikes[@]}"); else args=(--no-spike); fi
  python3 "$shared/bench/gen_events.py" --conversations 300000 --days 7 --seed 5 "${args[@]}" \
    --out "$work/$kind.jsonl" --truth "$work/$kind" > /dev/null 2>&1
  start=$(date +%s.%N)
  "$bin" alerts backtest --input "$work/$kind.jsonl" --truth "$work/$kind" --summary "$work/$kind.json" \
    > "$work/$kind.txt" 2> /dev/null
  end=$(date +%s.%N)
  python3 - "$work/$kind.json" "$kind" "$start" "$end" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
delays = ", ".join(str(d) for d in s["delays_minutes"]) or "-"
print(f"| 300k / 7 days, {sys.argv[2]} | {s['spikes']} | {s['detected']} | {s['within_two_windows']} "
      f"({2 * s['window_minutes']} min) | {delays} | {s['alerts_fired']} | {s['false_alerts']} | "
      f"{s['false_alerts'] / s['days']:.2f} | {float(sys.argv[4]) - float(sys.argv[3]):.0f} s |")
PY
done
echo
echo "alerts that fired (spikes file):"
grep -E "firing" "$work/spikes.txt" || true
