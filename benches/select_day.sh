#!/usr/bin/env bash
# One day's greetings among a big list: `preview birthday --date D` and
# `send --due --date D` (into the outbox) on N customers (default 1,000,000)
# whose birthdays spread over the year (about N/365 due), wall time and peak
# RSS, median of 3; beside OLD_GREET (another greet binary) when given.
# usage: bash benches/select_day.sh [N] [OLD_GREET]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
OLD=${2:-}
cargo build --release --locked -q
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work/customers.csv" "$N" <<'PY'
import sys, random
path, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(7)
people = [("Σταμάτης", "Παπαδόπουλος", "m", "el"), ("Արամ", "Պետրոսյան", "m", "hy"),
          ("שרה", "כהן", "f", "he"), ("Emily", "Carter", "f", "en")]
with open(path, "w") as f:
    f.write("id,email,first_name,last_name,gender,language,birthday,customer_since\n")
    for i in range(n):
        first, last, g, lang = people[i % 4]
        y, m, d = rnd.randint(1940, 2005), rnd.randint(1, 12), rnd.randint(1, 28)
        f.write(f"C{i},c{i}@example.gr,{first},{last},{g},{lang},{y}-{m:02d}-{d:02d},2015-{m:02d}-{d:02d}\n")
PY
shop() {
  local dir=$1
  mkdir -p "$dir"
  ln -sf "$work/customers.csv" "$dir/customers.csv"
  sed -e "s|^templates = .*|templates = \"$PWD/templates\"|" \
      -e 's|rate = "30/minute"|rate = "1000000/second"|' samples/greet.toml > "$dir/greet.toml"
}
# The median of three "seconds KB" lines, printed with its label.
median() { # label runs...
  local label=$1; shift
  printf '%s\n' "$@" | sort -n | sed -n 2p | {
    read -r s kb
    printf "%-34s %6.2f s  %6.1f MiB\n" "$label" "$s" "$(echo "$kb / 1024" | bc -l)"
  }
}
measure() { # label bin dir args...
  local label=$1 bin=$2 dir=$3; shift 3
  local runs=()
  for _ in 1 2 3; do
    rm -rf "$dir/outbox" "$dir"/greet-ledger.* "$dir/greet-batch.key"
    /usr/bin/time -f "%e %M" -o "$dir/t" "$bin" --config "$dir/greet.toml" --quiet "$@" >/dev/null 2>&1 || true
    runs+=("$(cat "$dir/t")")
  done
  median "$label" "${runs[@]}"
}
# The same, after one untimed run: what a run costs when the day's
# greetings are already sent (a second scheduled run) — the list read and
# checked, the ledger asked, nothing written.
measure_rerun() { # label bin dir args...
  local label=$1 bin=$2 dir=$3; shift 3
  local runs=()
  rm -rf "$dir/outbox" "$dir"/greet-ledger.* "$dir/greet-batch.key"
  "$bin" --config "$dir/greet.toml" --quiet "$@" >/dev/null 2>&1 || true
  for _ in 1 2 3; do
    /usr/bin/time -f "%e %M" -o "$dir/t" "$bin" --config "$dir/greet.toml" --quiet "$@" >/dev/null 2>&1 || true
    runs+=("$(cat "$dir/t")")
  done
  median "$label" "${runs[@]}"
}
echo "$N customers, birthdays over the year; load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
for who in new old; do
  bin=./target/release/greet
  if [ "$who" = old ]; then [ -n "$OLD" ] || continue; bin=$OLD; fi
  shop "$work/$who"
  measure "$who: preview birthday" "$bin" "$work/$who" preview birthday --date 2026-03-14 --format json
  measure "$who: send --due (outbox)" "$bin" "$work/$who" send --due --date 2026-03-14 --yes
  measure_rerun "$who: send --due, already sent" "$bin" "$work/$who" send --due --date 2026-03-14 --yes
done
