"""A tqdm progress bar on a preview download: a gazu script where the only
change is the import line.

    KITSU_HOST=https://kitsu.example.com/api KITSU_EMAIL=me@example.com \
    KITSU_PASSWORD=secret python tqdm_progress.py <preview-file-id> preview.mp4
"""

import os
import sys

from tqdm import tqdm

import libkitsu as gazu  # was: import gazu

gazu.set_host(os.environ["KITSU_HOST"])
gazu.log_in(os.environ["KITSU_EMAIL"], os.environ["KITSU_PASSWORD"])

preview_file_id, target = sys.argv[1], sys.argv[2]
with tqdm(unit="B", unit_scale=True, unit_divisor=1024, desc=target) as bar:

    def progress_callback(bytes_read, total):
        bar.total = total or None  # 0: the server sent no size
        bar.update(bytes_read - bar.n)

    gazu.files.download_preview_file(preview_file_id, target, progress_callback=progress_callback)
