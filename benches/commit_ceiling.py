"""The disk's own price of greet's ledger, for benches/ledger.sh and
benches/smtp_wire.sh: N SQLite commits with greet's schema, pragmas (WAL,
synchronous = FULL) and row, one transaction per row, nothing else; then
prints the seconds they took.

usage: python3 benches/commit_ceiling.py LEDGER N MODE
  commits   the commits alone
  files     each commit followed by writing one ~9 KB file
  durable   each commit followed by one file written as greet's outbox
            writes it: a hidden temporary sibling, fdatasync, rename,
            fsync of the folder
"""
import os
import sqlite3
import sys
import time

path, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for old in (path, path + "-wal", path + "-shm"):
    if os.path.exists(old):
        os.remove(old)
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
    db.execute(
        "insert into greetings (occasion, customer, occurrence, state, recipient, message_id, reply)"
        " values (?,?,?,?,?,?,?)",
        ("birthday", f"c{i}@example.gr", "2026-03-14", "sent", f"c{i}@example.gr",
         f"<{i:032x}.birthday.2026-03-14@fournos-marinas.example.gr>",
         f"written to outbox/birthday-2026-03-14-c{i}@example.gr.eml"))
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
