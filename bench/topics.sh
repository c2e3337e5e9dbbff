#!/usr/bin/env bash
# Topic fit side by side: `ticketpulse topics fit` against the scikit-learn recipe
# (bench/topics_peer.py) on the same texts and k, both on all cores of the machine: generated
# tickets (the first customer message of each conversation of gen_events.py, with the
# generator's topic) at three sizes, THUCNews titles and Banking77.
#   TICKETPULSE_PEER_PYTHON=~/.cache/ticketpulse/peer-venv/bin/python bench/topics.sh [SIZES...]
set -euo pipefail
py="${TICKETPULSE_PEER_PYTHON:-python3}"
here="$(cd "$(dirname "$0")/.." && pwd)"
shared="$here/../shared"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(5000 20000 100000)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build --release -q -p ticketpulse --manifest-path "$here/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$here/target}/release/ticketpulse"

ours() { # FILE ARGS... -> "seconds nmi"
  "$bin" topics fit --input "$@" 2>/dev/null |
    awk '/fitted in/ { for (i = 1; i <= NF; i++) if ($i == "in") { t = $(i + 1); sub("s", "", t) } }
         /^NMI/ { n = $2 } END { print t, n }'
}
row() { # NAME K OURS PEER
  read -r ot on <<< "$3"; read -r pt pn <<< "$4"
  awk -v name="$1" -v k="$2" -v ot="$ot" -v on="$on" -v pt="$pt" -v pn="$pn" \
    'BEGIN { printf "| %s | %s | **%.3f** | %.2f s | %.3f | %.2f s | **%.1f×** |\n", name, k, on, ot, pn, pt, pt / ot }'
}
echo "| texts | k | ticketpulse NMI | ticketpulse fit | scikit-learn NMI | scikit-learn fit | speed-up |"
echo "|---|---|---|---|---|---|---|"
for n in "${sizes[@]}"; do
  days=$(( n < 20000 ? 1 : n / 15000 ))
  python3 "$shared/bench/gen_events.py" --conversations "$n" --days "$days" --seed 11 \
    --out "$work/events.jsonl" --truth "$work/truth" > /dev/null 2>&1
  python3 - "$work" <<'PY'
import csv, json, sys
w = sys.argv[1]
topic = {json.loads(l)["conversation_id"]: json.loads(l)["topic"] for l in open(f"{w}/truth/conversations.jsonl")}
first = {}
for line in open(f"{w}/events.jsonl", encoding="utf-8"):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if isinstance(e, dict) and e.get("type") == "message" and e.get("role") == "customer" \
            and e.get("conversation_id") in topic and e["conversation_id"] not in first:
        first[e["conversation_id"]] = e.get("text", "")
with open(f"{w}/first.csv", "w", newline="", encoding="utf-8") as f:
    out = csv.writer(f)
    out.writerow(["text", "topic"])
    for c, t in first.items():
        out.writerow([t, topic[c]])
PY
  for k in 24 40; do
    row "generated tickets, $n conversations" $k \
      "$(ours "$work/first.csv" --text-column text --label-column topic --k $k)" \
      "$("$py" "$here/bench/topics_peer.py" "$work/first.csv" text topic $k jieba 2>/dev/null)"
  done
done
thuc="$shared/data/thucnews_titles/test.txt"
row "THUCNews titles (10,000)" 10 \
  "$(ours "$thuc" --no-header --text-column 0 --label-column 1 --k 10)" \
  "$("$py" "$here/bench/topics_peer.py" "$thuc" 0 1 10 jieba 2>/dev/null)"
bank="$shared/data/banking77/test.csv"
row "Banking77 (3,080)" 77 \
  "$(ours "$bank" --text-column text --label-column category --k 77)" \
  "$("$py" "$here/bench/topics_peer.py" "$bank" text category 77 2>/dev/null)"
