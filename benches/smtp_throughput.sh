#!/usr/bin/env bash
# Messages per second sent to a local aiosmtpd (plain SMTP on 127.0.0.1),
# greet (with its SQLite ledger) against mailmerge 2.3.0, in one sitting.
# usage: bash benches/smtp_throughput.sh [N]   (default 5000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-5000}
[ -x .ci/venv/bin/python ] || python3 -m venv .ci/venv
.ci/venv/bin/pip install -q --disable-pip-version-check aiosmtpd==1.4.6 mailmerge==2.3.0
cargo build --release --locked -q
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
.ci/venv/bin/python -m aiosmtpd -n -l "127.0.0.1:$port" -c aiosmtpd.handlers.Sink &
server=$!
sleep 1.5

# The same N customers for both tools.
python3 benches/birthday_list.py "$work/customers.csv" "$N"

# greet: the sample config with SMTP to the sink, no rate limit to speak of.
sed -e "s|^templates = .*|templates = \"$PWD/templates\"|" \
    -e 's|kind = "file"|kind = "smtp"\nhost = "127.0.0.1"\nport = '"$port"'\nsecurity = "none"|' \
    -e 's|^dir = "outbox"||' -e 's|rate = "30/minute"|rate = "1000000/second"|' \
    samples/greet.toml > "$work/greet.toml"
start=$(date +%s.%N)
./target/release/greet --config "$work/greet.toml" --quiet send birthday --date 2026-03-14 --yes
greet_s=$(python3 -c "import time; print(time.time() - $start)")

# mailmerge: a comparable plain-text message.
cat > "$work/mailmerge_template.txt" <<'TPL'
TO: {{email}}
FROM: hello@fournos-marinas.example.gr
SUBJECT: Χρόνια πολλά, {{first_name}}!

Αγαπητέ {{first_name}},
σου ευχόμαστε χρόνια πολλά!
TPL
cp "$work/customers.csv" "$work/mailmerge_database.csv"
cat > "$work/mailmerge_server.conf" <<CONF
[smtp_server]
host = 127.0.0.1
port = $port
security = Never
username = None
ratelimit = 0
CONF
start=$(date +%s.%N)
(cd "$work" && "$OLDPWD/.ci/venv/bin/mailmerge" --no-dry-run --no-limit --output-format raw > /dev/null)
mm_s=$(python3 -c "import time; print(time.time() - $start)")

python3 - "$N" "$greet_s" "$mm_s" <<'PY'
import sys
n, g, m = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
print(f"{n} messages to aiosmtpd on 127.0.0.1")
print(f"greet (ledger on): {g:7.2f} s  {n/g:8.0f} msg/s")
print(f"mailmerge 2.3.0:   {m:7.2f} s  {n/m:8.0f} msg/s")
print(f"ratio greet/mailmerge: {m/g:.2f}x")
PY
