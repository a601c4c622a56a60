#!/usr/bin/env bash
# Rendering a whole list for review, side by side in one sitting:
# `greet preview christmas --format json > /dev/null` against mailmerge
# 2.3.0's fastest output, `--dry-run --no-limit --output-format raw > /dev/null`,
# on the same customers and a comparable template (plain text and HTML, the
# customer's first name, an optional favourite product).
# usage: bash benches/preview_vs_mailmerge.sh [N] [MAILMERGE_N] [OLD_GREET]
#   N            customers for greet (default 100000)
#   MAILMERGE_N  customers for mailmerge (default N; mailmerge takes minutes
#                on 100,000 — with fewer, the ratio is per message)
#   OLD_GREET    another greet binary, measured beside this tree's (before/after)
# RUNS (default 3) runs of each; the median wall time is reported.
# MAILMERGE_TEMPLATE=plain gives mailmerge the text part only (its cheapest
# message; greet still renders text and HTML).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
MM_N=${2:-$N}
OLD=${3:-}
RUNS=${RUNS:-3}
[ -x .ci/venv/bin/mailmerge ] || {
  [ -x .ci/venv/bin/python ] || python3 -m venv .ci/venv
  .ci/venv/bin/pip install -q --disable-pip-version-check mailmerge==2.3.0
}
cargo build --release --locked -q
greet=$PWD/target/release/greet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The customers: four languages, as benches/preview.rs writes them.
python3 - "$work" "$N" "$MM_N" <<'PY'
import random, sys
work, n, mm_n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
people = [
    ("el", "Σταμάτης Γιώργος Κωνσταντίνος Αλέξανδρος", "Μαρία Ελένη Αικατερίνη Σοφία", "Ιωάννου Γεωργίου"),
    ("hy", "Արամ Նարեկ Տիգրան Դավիթ", "Անի Լուսինե Նարինե Մարիամ", "Պետրոսյան Սարգսյան"),
    ("he", "דוד נועם יוסף אריאל", "שרה מיכל נועה תמר", "כהן לוי"),
    ("en", "James Oliver William Thomas", "Emily Olivia Sophie Charlotte", "Smith Jones"),
]
favourites = ["", "tsoureki", "", "baklava", "melomakarona", "sourdough"]
rng = random.Random(2026)
header = "id,email,first_name,last_name,gender,language,birthday,customer_since,opt_out,favourite\n"
rows = []
for i in range(1, max(n, mm_n) + 1):
    lang, m, f, ln = people[i % 4]
    j = i // 4
    gender, names = ("m", m.split()) if j % 2 == 0 else ("f", f.split())
    first, last = names[(j // 2) % len(names)], ln.split()[(i // 7) % 2]
    born = f"{rng.randint(1940, 2005)}-{rng.randint(1, 12):02}-{rng.randint(1, 28):02}"
    since = f"{rng.randint(2008, 2025)}-{rng.randint(1, 12):02}-{rng.randint(1, 28):02}"
    rows.append(f"C{i:07},c{i}@example.com,{first},{last},{gender},{lang},{born},{since},,{rng.choice(favourites)}\n")
with open(f"{work}/customers.csv", "w") as out:
    out.write(header + "".join(rows[:n]))
with open(f"{work}/mailmerge_database.csv", "w") as out:
    out.write(header + "".join(rows[:mm_n]))
PY
sed -e "s|^templates = .*|templates = \"$PWD/templates\"|" \
    -e "s|^path = \"customers.csv\"|path = \"$work/customers.csv\"|" \
    samples/greet.toml > "$work/greet.toml"

# mailmerge: one multipart message per row, text and HTML, as greet's Christmas is.
cat > "$work/mailmerge_template.txt" <<'TPL'
TO: {{email}}
FROM: Φούρνος της Μαρίνας <hello@fournos-marinas.example.gr>
SUBJECT: Merry Christmas, {{first_name}}!
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="boundary"

--boundary
Content-Type: text/plain; charset=utf-8

Dear {{first_name}},
The bakery smells of melomakarona and cinnamon again, and at this time of year we think of the people who keep us company all year round, you among them.
We wish you a Merry Christmas, warm and peaceful, with the people you love around the table.
{% if favourite %}And don't worry, we'll keep baking your favourite all through the holidays: {{favourite}}.
{% endif %}
Warmly,
Marina and everyone at the bakery

--boundary
Content-Type: text/html; charset=utf-8

<html><body style="font-family:Georgia,serif;color:#3b2a1e;">
<h1 style="margin:0 0 20px;font-size:26px;color:#b0602d;">Merry Christmas!</h1>
<p style="margin:0 0 16px;font-weight:bold;">Dear {{first_name}},</p>
<p style="margin:0 0 14px;">The bakery smells of melomakarona and cinnamon again, and at this time of year we think of the people who keep us company all year round, you among them.</p>
<p style="margin:0 0 14px;">We wish you a Merry Christmas, warm and peaceful, with the people you love around the table.</p>
{% if favourite %}<p style="margin:0 0 14px;">And don't worry, we'll keep baking your favourite all through the holidays: {{favourite}}.</p>{% endif %}
<p style="margin:24px 0 8px;">Warmly,<br>Marina and everyone at the bakery</p>
</body></html>
--boundary--
TPL
if [ "${MAILMERGE_TEMPLATE:-multipart}" = plain ]; then
  python3 - "$work/mailmerge_template.txt" <<'PY'
import sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
head = text.split("MIME-Version", 1)[0]
plain = text.split("charset=utf-8\n\n", 1)[1].split("\n--boundary", 1)[0]
open(path, "w", encoding="utf-8").write(head + "\n" + plain + "\n")
PY
fi
cat > "$work/mailmerge_server.conf" <<'CONF'
[smtp_server]
host = 127.0.0.1
port = 25
security = Never
username = None
CONF

median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
wall() { # command... → seconds
  local start end
  start=$(date +%s.%N)
  "$@" > /dev/null
  end=$(date +%s.%N)
  python3 -c "print($end - $start)"
}
run_greet() {
  GREET_NOW=2026-12-20T09:00:00+02:00 "$1" --config "$work/greet.toml" --quiet \
    preview christmas --date 2026-12-20 --format json
}
run_mailmerge() {
  (cd "$work" && "$OLDPWD/.ci/venv/bin/mailmerge" --dry-run --no-limit --output-format raw)
}

# One untimed run of each proves what the timed ones produce.
greeted=$(run_greet "$greet" | grep -c '"status":"due"')
merged=$(run_mailmerge | grep -c '^>>> message [0-9]* sent$' || true)
[ "$greeted" -eq "$N" ] || { echo "greet rendered $greeted of $N" >&2; exit 1; }
[ "$merged" -eq "$MM_N" ] || { echo "mailmerge rendered $merged of $MM_N" >&2; exit 1; }

echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); median of $RUNS runs; mailmerge template: ${MAILMERGE_TEMPLATE:-multipart}"
declare -A secs
for _ in $(seq "$RUNS"); do
  secs[greet]+="$(wall run_greet "$greet") "
  [ -z "$OLD" ] || secs[old]+="$(wall run_greet "$OLD") "
  secs[mailmerge]+="$(wall run_mailmerge) "
done
g=$(tr ' ' '\n' <<< "${secs[greet]}" | grep . | median)
m=$(tr ' ' '\n' <<< "${secs[mailmerge]}" | grep . | median)
o=
[ -z "$OLD" ] || o=$(tr ' ' '\n' <<< "${secs[old]}" | grep . | median)
python3 - "$N" "$MM_N" "$g" "$m" "$o" <<'PY'
import sys
n, mm_n, g, m = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
old = float(sys.argv[5]) if sys.argv[5] else None
print(f"greet preview --format json: {n:>7} greetings {g:8.2f} s {n / g:9.0f} /s")
if old:
    print(f"  (old greet):               {n:>7} greetings {old:8.2f} s {n / old:9.0f} /s")
print(f"mailmerge 2.3.0 --dry-run:   {mm_n:>7} messages  {m:8.2f} s {mm_n / m:9.0f} /s")
print(f"greet / mailmerge, per message: {(m / mm_n) / (g / n):.1f}x")
if old:
    print(f"old greet / mailmerge, per message: {(m / mm_n) / (old / n):.1f}x")
PY
