#!/usr/bin/env bash
# How long the review page of N greetings (default 5000) takes to open in
# headless Chromium: this tree's page, and beside it, when OLD is given, the
# page of another greet — a binary, or a git revision built in a temporary
# worktree (e.g. a commit from before the bodies loaded lazily).
# usage: bash benches/review_page.sh [N] [OLD]
# Prints, for each, the page's size, when its load event came (the page's own
# navigation timing) and when `chromium --dump-dom` returned.
# The page does not depend on greet's build profile: the debug build will do.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-5000}
OLD=${2:-}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
cargo build --locked -q
work=$(mktemp -d)
cleanup() {
  if [ -d "$work/old-src" ]; then git worktree remove --force "$work/old-src"; fi
  rm -rf "$work"
}
trap cleanup EXIT

old_bin=
if [ -n "$OLD" ]; then
  if [ -x "$OLD" ] && [ -f "$OLD" ]; then
    old_bin=$(realpath "$OLD")
  else
    git worktree add -q --detach "$work/old-src" "$OLD"
    # Its own target dir, kept between runs (the first build takes minutes).
    CARGO_TARGET_DIR="$PWD/target/bench-old" cargo build --locked -q --manifest-path "$work/old-src/Cargo.toml"
    old_bin="$PWD/target/bench-old/debug/greet"
  fi
fi

# The sample shop with N customers in its four languages; the sample's
# Christmas greets everyone.
mkdir "$work/shop"
cp samples/greet.toml "$work/shop/"
cp -r templates "$work/shop/templates"
python3 - "$work/shop/customers.csv" "$N" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
people = [("Σταμάτης", "Παπαδόπουλος", "m", "el"), ("Արամ", "Պետրոսյան", "m", "hy"),
          ("שרה", "כהן", "f", "he"), ("Emma", "O'Brien", "f", "en")]
with open(path, "w") as f:
    f.write("id,email,first_name,last_name,gender,language,birthday,customer_since,opt_out,favourite\n")
    for i in range(n):
        first, last, gender, lang = people[i % len(people)]
        f.write(f"C{i:05},c{i}@example.gr,{first},{last},{gender},{lang},1980-03-14,2010-01-01,,\n")
PY

measure() { # NAME GREET
  local page="$work/$1.html"
  (cd "$work/shop" && GREET_NOW=2026-12-20T09:00:00+02:00 TZ=UTC "$2" --quiet \
    preview christmas --date 2026-12-20 --format html --out "$page")
  python3 - "$1" "$page" "$CHROMIUM" <<'PY'
import sys
from pathlib import Path
sys.path.insert(0, "tests/browser")
import check_html, check_review_scale as scale
check_html.CHROMIUM_TIMEOUT_S = 1800  # the old page takes minutes
name, page, chromium = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
doc = page.read_text(encoding="utf-8")
timed = page.with_suffix(".load.html")
timed.write_text(scale.with_script(doc, scale.LOAD_JS), encoding="utf-8")
t, wall = scale.timed_load(chromium, timed)
print(f"{name:>4}: {doc.count('<article'):5} greetings, {len(doc) / 1e6:5.1f} MB; "
      f"load event at {t['load_ms'] / 1000:6.1f} s, {t['frames']:5} frames at load; "
      f"chromium returned after {wall:6.1f} s")
PY
}

echo "review page of $N greetings, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
measure new "$PWD/target/debug/greet"
if [ -n "$old_bin" ]; then measure old "$old_bin"; fi
