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

python3 - "$work" "$N" <<'PY'
import sys
work, n = sys.argv[1], int(sys.argv[2])
with open(f"{work}/customers.csv", "w") as f:
    f.write("email,first_name,last_name,gender,language,birthday\n")
    for i in range(n):
        f.write(f"c{i}@example.gr,Σταμάτης,Παπαδόπουλος,m,el,1980-03-14\n")
PY

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
ceiling() {
  python3 - "$1" "$N" "$2" <<'PY'
import os, sqlite3, sys, time
path, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
files = mode in ("files", "durable")
body = b"x" * 9000
if files:
    os.makedirs(path + ".outbox")
    folder = os.open(path + ".outbox", os.O_RDONLY)
db = sqlite3.connect(path, isolation_level=None)
db.execute("pragma journal_mode=wal")
db.execute("pragma synchronous=full")
db.execute("""create table greetings (occasion text not null, customer text not null,
  occurrence text not null, state text not null, recipient text not null,
  message_id text not null, reply text, attempts integer not null default 1,
  updated_at text not null default (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
  primary key (occasion, customer, occurrence))""")
db.execute("create index greetings_by_state on greetings(state)")
start = time.perf_counter()
for i in range(n):
    db.execute("begin immediate")
    db.execute("insert into greetings (occasion, customer, occurrence, state, recipient, message_id, reply) values (?,?,?,?,?,?,?)",
               ("birthday", f"c{i}@example.gr", "2026-03-14", "sent", f"c{i}@example.gr",
                f"<{i:032x}.birthday.2026-03-14@fournos-marinas.example.gr>", "written to outbox/birthday-2026-03-14-c{i}@example.gr.eml"))
    db.execute("commit")
    name = f"{path}.outbox/birthday-2026-03-14-c{i}@example.gr.eml"
    if mode == "files":
        with open(name, "wb") as f:
            f.write(body)
    elif mode == "durable":
        tmp = f"{path}.outbox/.birthday-2026-03-14-c{i}@example.gr.eml.tmp"
        with open(tmp, "wb") as f:
            f.write(body)
            os.fdatasync(f.fileno())
        os.rename(tmp, name)
        os.fsync(folder)
print(time.perf_counter() - start)
PY
}

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
