#!/usr/bin/env python3
"""Memory of a running wacrm while a member uploads a 99 MB file.

Uploads are spooled to disk while hashed (no whole file in memory); this
prints wacrm's resident memory before and at its peak during the upload.
Start wacrm first (`cargo run --release`, or the debug binary), then:

    pip install requests
    python3 scripts/measure-upload-memory.py [http://127.0.0.1:3000]

It signs up a new workspace, writes in as a sandbox customer and sends the
file into that conversation; the wacrm process is found by name (pgrep).
"""
import os
import re
import subprocess
import sys
import threading
import time

import requests

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:3000"
SIZE = 99 * 1024 * 1024


def token(html):
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024
    return 0


def main():
    s = requests.Session()
    email = f"upload{int(time.time())}@example.com"
    s.post(f"{BASE}/signup", data=dict(name="Upload", email=email,
           password="correct horse battery staple", org_name="Upload Shop",
           csrf_token=token(s.get(f"{BASE}/signup").text)), allow_redirects=False)
    chat = s.post(f"{BASE}/sandbox/messages", data=dict(name="Ines", phone="+4930901820",
                  text="hello", csrf_token=token(s.get(f"{BASE}/sandbox").text)))
    conversation = re.search(r'href="/inbox/([0-9a-f-]{36})"', chat.text).group(1)
    pid = int(subprocess.check_output(["pgrep", "-n", "-x", "wacrm"]).split()[0])
    before = rss_mb(pid)
    peak = [before]
    done = threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb(pid))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    data = b"%PDF-1.7\n" + os.urandom(SIZE - 9)
    csrf = token(s.get(f"{BASE}/inbox/{conversation}").text)
    started = time.time()
    answer = s.post(f"{BASE}/inbox/{conversation}/attachments?csrf_token={csrf}",
                    files={"file": ("big.pdf", data, "application/pdf")},
                    data={"text": "big file"}, allow_redirects=False)
    took = time.time() - started
    done.set()
    watcher.join()
    print(f"upload of {SIZE // 2**20} MB: HTTP {answer.status_code} in {took:.1f} s; "
          f"wacrm RSS {before} MB before, {peak[0]} MB at peak (+{peak[0] - before} MB)")


if __name__ == "__main__":
    main()
