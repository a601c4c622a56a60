#!/usr/bin/env bash
# The durable ledger, near the disk's limit: `greet send` of N greetings
# into the outbox (one SQLite commit per message, synchronous = FULL)
# against this disk's own SQLite-commit ceiling — the same schema, pragmas
# and row, one transaction per row, nothing else — measured in one sitting;
# and, under strace, the fsync / fcntl / pwrite calls per message.
# usage: bash benches/ledger.sh [N] [OLD_GREET]   (default 5000; OLD_GREET: a
#        greet binary to measure side by side, e.g. one built from an older commit)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-5000}
OLD=${2:-}
command -v strace >/dev/null || { echo "needs strace (apt install strace)"; exit 1; }
cargo build --release --locked -q
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 benches/birthday_list.py "$work/customers.csv" "$N"

# A shop in its own folder: the sample config, the outbox, no rate limit.
shop() {
  local dir=$1
  mkdir -p "$dir"
  cp "$work/customers.csv" "$dir/"
  sed -e "s|^templates = .*|templates = \"$PWD/templates\"|" \
      -e 's|rate = "30/minute"|rate = "1000000/second"|' \
      samples/greet.toml > "$dir/greet.toml"
}

# The ceilings: SQLite commits alone ("commit"); commits each followed by
# writing one ~9 KB file ("commit+file"); and commits each followed by one
# file written as greet's outbox writes it — a hidden temporary sibling,
# fdatasync, rename, fsync of the folder — so that the file is on the disk
# before the commit that records it ("commit+durable file").
ceiling() { python3 benches/commit_ceiling.py "$1" "$N" "$2"; }

timed() {
  local bin=$1 dir=$2
  local start end
  start=$(date +%s.%N)
  "$bin" --config "$dir/greet.toml" --quiet send birthday --date 2026-03-14 --yes 2>/dev/null
  end=$(date +%s.%N)
  python3 -c "print($end - $start)"
}

echo "$N greetings into the outbox, ledger synchronous = FULL"
pct() { python3 -c "print(f'{$1/$2*100:5.1f}')"; }
rate() { python3 -c "print(f'{$N/$1:6.0f}')"; }
for round in 1 2 3; do
  c=$(ceiling "$work/ceiling-$round.sqlite" commits)
  cf=$(ceiling "$work/ceiling-files-$round.sqlite" files)
  cd=$(ceiling "$work/ceiling-durable-$round.sqlite" durable)
  shop "$work/new-$round"
  g=$(timed ./target/release/greet "$work/new-$round")
  line="round $round: ceilings $(rate "$c") commits/s, $(rate "$cf") commit+file/s, $(rate "$cd") commit+durable file/s · greet $(rate "$g") msg/s = $(pct "$c" "$g")% of commits, $(pct "$cf" "$g")% of commit+file, $(pct "$cd" "$g")% of commit+durable file"
  if [ -n "$OLD" ]; then
    shop "$work/old-$round"
    o=$(timed "$OLD" "$work/old-$round")
    line="$line · old greet $(rate "$o") msg/s = $(pct "$c" "$o")%, $(pct "$cf" "$o")%, $(pct "$cd" "$o")%"
  fi
  echo "$line"
done

echo "system calls per message (strace -f -y), by the file they act on:"
count() {
  local bin=$1 dir=$2
  strace -f -qq -y -e trace=fsync,fdatasync,fcntl,pwrite64 -o "$dir.strace" \
    "$bin" --config "$dir/greet.toml" --quiet send birthday --date 2026-03-14 --yes 2>/dev/null
  python3 - "$dir.strace" "$N" <<'PY'
import re, sys
n = int(sys.argv[2])
calls = {}
for line in open(sys.argv[1]):
    m = re.match(r"(?:\d+ +)?(fsync|fdatasync|fcntl|pwrite64)\(\d+<([^>]*)>", line)
    if not m:
        continue
    call, path = m.groups()
    where = "ledger" if "greet-ledger" in path else "outbox" if "outbox" in path else "other"
    calls[(where, call)] = calls.get((where, call), 0) + 1
for where in ("ledger", "outbox", "other"):
    got = {c: v for (w, c), v in calls.items() if w == where}
    if got:
        print(f"  {where:<7}" + " · ".join(f"{k} {v / n:.2f}" for k, v in sorted(got.items())))
PY
}
shop "$work/strace-new"
echo "greet:"; count ./target/release/greet "$work/strace-new"
if [ -n "$OLD" ]; then
  shop "$work/strace-old"
  echo "old greet:"; count "$OLD" "$work/strace-old"
fi
