"""Downloads every preview of a project in one batch (8 in flight), with one
tqdm bar for the whole batch, and prints a summary. Failures are reported
and the batch goes on.

    KITSU_HOST=https://kitsu.example.com/api KITSU_EMAIL=me@example.com \
    KITSU_PASSWORD=secret python batch_download.py "My film" ./previews
"""

import os
import sys
import time
from pathlib import Path

from tqdm import tqdm

import libkitsu
import libkitsu as gazu

gazu.set_host(os.environ["KITSU_HOST"])
gazu.log_in(os.environ["KITSU_EMAIL"], os.environ["KITSU_PASSWORD"])

project_name, out = sys.argv[1], Path(sys.argv[2])
project = gazu.project.get_project_by_name(project_name)
if project is None:
    sys.exit(f"no project named {project_name!r}")

# The listing: the preview records (their extension spares a request per file).
previews, targets = [], []
for task in gazu.task.all_tasks_for_project(project):
    for comment in gazu.task.all_comments_for_task(task):
        for preview in comment.get("previews", []):
            preview = gazu.files.get_preview_file(preview if isinstance(preview, str) else preview["id"])
            if not preview.get("extension"):
                continue
            target = out / task["id"] / f"v{preview['revision']:03}-{preview['id'][:8]}.{preview['extension']}"
            target.parent.mkdir(parents=True, exist_ok=True)
            previews.append(preview)
            targets.append(target)

started = time.monotonic()
with tqdm(unit="B", unit_scale=True, unit_divisor=1024, desc=f"{len(previews)} previews") as bar:

    def progress_callback(bytes_read, total):
        bar.total = total or None  # the batch's total is known once every file's size is
        bar.update(bytes_read - bar.n)

    results = libkitsu.batch.download_preview_files(previews, targets, max_in_flight=8, progress_callback=progress_callback)

done = [r for r in results if r.ok]
failures = [f"{Path(r.path).name}: {r.error}" for r in results if not r.ok]
size = sum(r.size for r in done)
elapsed = time.monotonic() - started
print(f"{len(done)} previews, {size / 1e6:.1f} MB in {elapsed:.1f} s ({size / 1e6 / max(elapsed, 1e-9):.1f} MB/s), {len(failures)} failed")
for failure in failures:
    print("  failed:", failure)
sys.exit(1 if failures else 0)
