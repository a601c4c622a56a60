#!/usr/bin/env bash
# Peak memory of `greet send` as the list grows: N greetings (default
# 10000 100000) into the outbox and to a local SMTP sink (aiosmtpd's Sink,
# plain SMTP on 127.0.0.1), ledger on. `send` streams the list twice (check,
# then send) and holds one message at a time, so the peak should stay flat.
# usage: [KINDS="outbox smtp"] [SINK=smtp-sink] bash benches/send_memory.sh [N...] [--old OLD_GREET]
# (SINK=smtp-sink: Postfix's smtp-sink instead of aiosmtpd, several times faster;
#  apt-get install postfix, the daemon is not used)
# (OLD_GREET: another greet binary measured beside this tree's)
# Peak RSS is /usr/bin/time -v's "Maximum resident set size".
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=()
OLD=""
while [ $# -gt 0 ]; do
  case $1 in
    --old) OLD=$2; shift 2 ;;
    *) sizes+=("$1"); shift ;;
  esac
done
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000)
[ -x /usr/bin/time ] || { echo "needs GNU time (apt install time)"; exit 1; }
[ -x .ci/venv/bin/python ] || python3 -m venv .ci/venv
.ci/venv/bin/pip install -q --disable-pip-version-check aiosmtpd==1.4.6
cargo build --release --locked -q
work=$(mktemp -d)
server=""
trap 'if [ -n "$server" ]; then kill $server 2>/dev/null || true; fi; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
if [ "${SINK:-aiosmtpd}" = smtp-sink ]; then
  sink_user=()
  [ "$(id -u)" -eq 0 ] && sink_user=(-u nobody)
  smtp-sink "${sink_user[@]}" "127.0.0.1:$port" 256 &
else
  .ci/venv/bin/python -m aiosmtpd -n -l "127.0.0.1:$port" -c aiosmtpd.handlers.Sink &
fi
server=$!
sleep 1.5

peak() { # bin dir -> "seconds peak_MiB"
  local bin=$1 dir=$2
  /usr/bin/time -v -o "$dir/time.txt" "$bin" --config "$dir/greet.toml" --quiet \
    send birthday --date 2026-03-14 --yes 2>/dev/null >/dev/null
  python3 - "$dir/time.txt" <<'PY'
import sys, re
t = open(sys.argv[1]).read()
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
wall = re.search(r"Elapsed \(wall clock\) time.*: (.+)", t).group(1).strip()
parts = [float(p) for p in wall.split(":")]
secs = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
print(f"{secs:8.1f} s {rss / 1024:8.1f} MiB")
PY
}

for n in "${sizes[@]}"; do
  python3 - "$work/customers-$n.csv" "$n" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write("email,first_name,last_name,gender,language,birthday\n")
    langs = ["el", "he", "hy", "en"]
    for i in range(n):
        f.write(f"c{i}@example.gr,Σταμάτης,Παπαδόπουλος,m,{langs[i % 4]},1980-03-14\n")
PY
  for kind in ${KINDS:-outbox smtp}; do
    for who in new old; do
      bin=./target/release/greet
      if [ "$who" = old ]; then
        [ -n "$OLD" ] || continue
        bin=$OLD
      fi
      dir="$work/$kind-$who-$n"
      mkdir -p "$dir"
      ln -s "$work/customers-$n.csv" "$dir/customers.csv"
      transport='kind = "file"\ndir = "outbox"'
      if [ "$kind" = smtp ]; then
        transport='kind = "smtp"\nhost = "127.0.0.1"\nport = '"$port"'\nsecurity = "none"'
      fi
      python3 - samples/greet.toml "$dir/greet.toml" "$PWD/templates" "$transport" <<'PY'
import sys
src, dst, templates, transport = sys.argv[1:]
t = open(src).read()
t = t.replace('kind = "file"\ndir = "outbox"', transport.replace("\\n", "\n"))
t = t.replace('rate = "30/minute"', 'rate = "1000000/second"')
lines = [f'templates = "{templates}"' if l.startswith("templates = ") else l for l in t.split("\n")]
open(dst, "w").write("\n".join(lines))
PY
      printf "%-7s %-6s %-4s %9d greetings: %s\n" "$kind" "$who" "" "$n" "$(peak "$bin" "$dir")"
      rm -rf "$dir/outbox"
    done
  done
done
