"""Run a command on a pseudo-terminal, answer its first prompt, print what it showed.

usage: python3 pty.py ANSWER PROGRAM ARGS...   (environment and cwd are passed through)
PTY_BEFORE_ANSWER, if set, is a shell command run once the prompt shows, before answering.
Prints a JSON object: {"code": exit code, "screen": everything written to the terminal}.
"""
import json
import os
import select
import subprocess
import sys
import time

answer, argv = sys.argv[1], sys.argv[2:]
master, slave = os.openpty()
proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
os.close(slave)
screen = b""
answered = False
deadline = time.time() + 60
while time.time() < deadline:
    ready, _, _ = select.select([master], [], [], 0.1)
    if ready:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the program is gone and the terminal closed
            break
        if not chunk:
            break
        screen += chunk
        if not answered and b"[y/N]" in screen:
            before = os.environ.get("PTY_BEFORE_ANSWER")
            if before:
                subprocess.run(before, shell=True, check=True)
            os.write(master, answer.encode() + b"\n")
            answered = True
    elif proc.poll() is not None:
        break
code = proc.wait(timeout=60)
print(json.dumps({"code": code, "screen": screen.decode("utf-8", "replace")}))
