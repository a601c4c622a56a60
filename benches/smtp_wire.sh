#!/usr/bin/env bash
# How close greet's SMTP sending comes to a minimal client on one kept
# connection, as ratios (greet msg/s ÷ peer msg/s), in one sitting:
#   (a) against Python's aiosmtpd Sink: greet vs a bare smtplib loop that
#       sends the .eml files greet itself writes for the same list;
#   (b) against Postfix's smtp-sink: greet vs `smtp-source -d -s 1` (one
#       session, messages of the same size).
# Two measures of greet, both release builds, security = "none", no rate
# limit to speak of (rate = "1000000/second"):
#   send  `greet send` as a user runs it: rendering, ledger on (a fresh one
#         each time, one durable commit a message), the SMTP conversation;
#   wire  greet's transport alone (benches/smtp_wire.rs): the same .eml
#         files through `transport::open` + `deliver`, timed from connect
#         to QUIT, as the smtplib loop times itself.
# The ledger's commits (fsync) cost more than the conversation on many
# disks: each round also times N bare SQLite commits in the ledgers' folder,
# and `send` is compared with smtp-source plus those commits as well.
# LEDGER_DIR=/dev/shm puts the ledgers on tmpfs.
# Every pairing runs ROUNDS times (default 3), interleaved; the median ratio
# is reported, since absolute numbers on a shared machine say little.
#
# usage: bash benches/smtp_wire.sh [N] [REV]...
#   N    messages per run (default 2000)
#   REV  git revisions to compare in the same sitting (e.g. main): each is
#        built in a temporary worktree, with this bench copied in
# needs: python3 (a venv with aiosmtpd is made in .ci/venv) and Debian's
# postfix package for smtp-sink and smtp-source (the postfix daemon is not used).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}
shift || true
ROUNDS=${ROUNDS:-3}
command -v smtp-sink >/dev/null && command -v smtp-source >/dev/null || {
  echo "smtp-sink/smtp-source not found: sudo apt-get install -y postfix" >&2
  exit 1
}
[ -x .ci/venv/bin/python ] || python3 -m venv .ci/venv
.ci/venv/bin/pip install -q --disable-pip-version-check aiosmtpd==1.4.6

work=$(mktemp -d)
ledgers=$(mktemp -d -p "${LEDGER_DIR:-$work}")
target=${CARGO_TARGET_DIR:-$PWD/target}
pids=()
trees=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for t in "${trees[@]}"; do git worktree remove --force "$t" 2>/dev/null || true; done
  rm -rf "$work" "$ledgers"
}
trap cleanup EXIT

# greet and the wire bench of a source tree, copied into $2.
build() {
  mkdir -p "$2"
  (
    cd "$1"
    export CARGO_TARGET_DIR="$target"
    cargo build --release --locked -q
    cp "$target/release/greet" "$2/greet"
    cargo bench --no-run --locked -q --bench smtp_wire --message-format=json 2>/dev/null |
      python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "smtp_wire":
        print(m["executable"])' > "$2/wire_path"
    cp "$(cat "$2/wire_path")" "$2/smtp_wire"
  )
}
labels=()
i=0
for rev in "$@"; do
  tree="$work/tree-$i"
  git worktree add -q --detach "$tree" "$rev"
  trees+=("$tree")
  cp benches/smtp_wire.rs "$tree/benches/smtp_wire.rs"
  grep -q 'name = "smtp_wire"' "$tree/Cargo.toml" ||
    printf '\n[[bench]]\nname = "smtp_wire"\npath = "benches/smtp_wire.rs"\nharness = false\n' >> "$tree/Cargo.toml"
  build "$tree" "$work/v$i"
  labels+=("$rev ($(git rev-parse --short "$rev"))")
  i=$((i + 1))
done
build "$PWD" "$work/v$i"
labels+=("this tree ($(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ", modified"))")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
aio_port=$(free_port)
.ci/venv/bin/python -m aiosmtpd -n -l "127.0.0.1:$aio_port" -c aiosmtpd.handlers.Sink &
pids+=($!)
sink_port=$(free_port)
# smtp-sink drops root privileges when told to; it offers PIPELINING.
sink_user=()
[ "$(id -u)" -eq 0 ] && sink_user=(-u nobody)
smtp-sink "${sink_user[@]}" "127.0.0.1:$sink_port" 256 &
pids+=($!)
sleep 1.5

# N customers with a birthday on 14 March.
python3 benches/birthday_list.py "$work/customers.csv" "$N"

# One config per destination; the outbox one writes greet's own .eml files
# for the smtplib loop and the wire bench.
config() { # name, transport lines
  sed -e "s|^templates = .*|templates = \"$PWD/templates\"|" \
      -e "s|^ledger = .*|ledger = \"$ledgers/$1.sqlite\"|" \
      -e "s|^kind = \"file\"|$2|" -e 's|^dir = "outbox"||' \
      -e 's|^rate = "30/minute"|rate = "1000000/second"|' \
      samples/greet.toml > "$work/$1.toml"
}
config aiosmtpd "kind = \"smtp\"\nhost = \"127.0.0.1\"\nport = $aio_port\nsecurity = \"none\""
config smtpsink "kind = \"smtp\"\nhost = \"127.0.0.1\"\nport = $sink_port\nsecurity = \"none\""
config outbox "kind = \"file\"\ndir = \"$work/outbox\""
"$work/v$i/greet" --config "$work/outbox.toml" --quiet send birthday --date 2026-03-14 --yes 2> /dev/null
size=$(python3 -c "import glob,os; f=glob.glob('$work/outbox/*.eml'); print(sum(map(os.path.getsize,f))//len(f))")

cat > "$work/client.py" <<'PY'
# The minimal client: one connection, EHLO once, then MAIL/RCPT/DATA per
# message, carrying the bytes greet wrote (smtplib does the dot-stuffing).
# Prints the seconds from connecting to QUIT.
import email.parser, email.utils, glob, smtplib, sys, time
port, outbox = int(sys.argv[1]), sys.argv[2]
parser = email.parser.BytesHeaderParser()
messages = []
for path in sorted(glob.glob(f"{outbox}/*.eml")):
    raw = open(path, "rb").read()
    to = email.utils.parseaddr(parser.parsebytes(raw)["To"])[1]
    messages.append((to, raw))
start = time.perf_counter()
s = smtplib.SMTP("127.0.0.1", port)
s.ehlo("fournos-marinas.example.gr")
for to, raw in messages:
    options = [] if raw.isascii() else ["BODY=8BITMIME"]
    s.sendmail("hello@fournos-marinas.example.gr", [to], raw, mail_options=options)
s.quit()
print(time.perf_counter() - start)
PY

now() { date +%s%N; }
# The seconds a command takes, whole process.
seconds() {
  local start end
  start=$(now)
  "$@" > /dev/null 2> "$work/stderr" || { cat "$work/stderr" >&2; return 1; }
  end=$(now)
  python3 -c "print(($end - $start) / 1e9)"
}
# The seconds a command reports on stdout.
reported() { "$@" 2> "$work/stderr" || { cat "$work/stderr" >&2; return 1; }; }
greet_send() { # version dir, config name
  rm -f "$ledgers/$2.sqlite"*
  seconds "$1/greet" --config "$work/$2.toml" --quiet send birthday --date 2026-03-14 --yes
}
ratio() { python3 -c "print($1 / $2)"; }
# The disk's own price of greet's guarantee: N SQLite commits (WAL,
# synchronous = FULL, greet's row), one per message, nothing else, in the
# ledgers' folder. smtp-source keeps no record; greet must commit each
# greeting's reservation before it goes out, so on a disk whose commit costs
# more than a message on the wire, "smtp-source + one commit a message" is
# the bound greet is measured against as well.
commits() { python3 benches/commit_ceiling.py "$ledgers/ceiling.sqlite" "$N" commits; }

declare -A ratios
for round in $(seq "$ROUNDS"); do
  py_total=$(seconds .ci/venv/bin/python "$work/client.py" "$aio_port" "$work/outbox")
  py_wire=$(reported .ci/venv/bin/python "$work/client.py" "$aio_port" "$work/outbox")
  src=$(seconds smtp-source -d -s 1 -m "$N" -l "$size" -f hello@fournos-marinas.example.gr \
    -t c0@example.gr "127.0.0.1:$sink_port")
  disk=$(commits)
  bound=$(python3 -c "print($src + $disk)")
  for v in $(seq 0 "$i"); do
    d="$work/v$v"
    send_aio=$(greet_send "$d" aiosmtpd)
    send_sink=$(greet_send "$d" smtpsink)
    wire_aio=$(reported "$d/smtp_wire" "$work/aiosmtpd.toml" "$work/outbox")
    wire_sink=$(reported "$d/smtp_wire" "$work/smtpsink.toml" "$work/outbox")
    # greet msg/s ÷ peer msg/s = peer seconds ÷ greet seconds.
    ratios[$v,send_aio]+="$(ratio "$py_total" "$send_aio") "
    ratios[$v,send_sink]+="$(ratio "$src" "$send_sink") "
    ratios[$v,send_bound]+="$(ratio "$bound" "$send_sink") "
    ratios[$v,wire_aio]+="$(ratio "$py_wire" "$wire_aio") "
    ratios[$v,wire_sink]+="$(ratio "$src" "$wire_sink") "
    echo "round $round, ${labels[$v]}: send ${send_aio}s/${send_sink}s, wire ${wire_aio}s/${wire_sink}s;" \
      "smtplib ${py_total}s (${py_wire}s connected), smtp-source ${src}s, $N commits ${disk}s" >&2
  done
done

echo "$N messages of ~$size bytes on 127.0.0.1, one connection each, median of $ROUNDS rounds"
echo "ledgers on $(df --output=fstype "$ledgers" | tail -1); ratio = greet msg/s ÷ peer msg/s (1.00 = as fast)"
for v in $(seq 0 "$i"); do
  python3 - "${labels[$v]}" "${ratios[$v,send_aio]}" "${ratios[$v,send_sink]}" \
    "${ratios[$v,wire_aio]}" "${ratios[$v,wire_sink]}" "${ratios[$v,send_bound]}" <<'PY'
import statistics, sys
label, *runs = sys.argv[1:]
def show(name, xs):
    xs = [float(x) for x in xs.split()]
    print(f"  {name:<44} {statistics.median(xs):5.2f}   ({' '.join(f'{x:.2f}' for x in xs)})")
print(label)
show("send vs smtplib → aiosmtpd Sink", runs[0])
show("send vs smtp-source -d -s 1 → smtp-sink", runs[1])
show("send vs smtp-source + one commit a message", runs[4])
show("wire vs smtplib → aiosmtpd Sink", runs[2])
show("wire vs smtp-source -d -s 1 → smtp-sink", runs[3])
PY
done
