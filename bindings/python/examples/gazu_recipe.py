"""A plain gazu script (gazu's documented way: a tqdm bar through
progress_callback, the loop over all_tasks_for_project /
all_comments_for_task / download_preview_file), with one added line that
moves every file through libkitsu.

    KITSU_HOST=https://kitsu.example.com/api KITSU_EMAIL=me@example.com \
    KITSU_PASSWORD=secret python gazu_recipe.py "My film" ./previews
"""

import os
import sys

import gazu
from tqdm import tqdm

import libkitsu; libkitsu.accelerate_gazu()  # noqa: E702 - the one added line

gazu.set_host(os.environ["KITSU_HOST"])
gazu.log_in(os.environ["KITSU_EMAIL"], os.environ["KITSU_PASSWORD"])

project_name, out = sys.argv[1], sys.argv[2]
project = gazu.project.get_project_by_name(project_name)
count = 0
for task in gazu.task.all_tasks_for_project(project):
    for comment in gazu.task.all_comments_for_task(task):
        for preview in comment["previews"]:
            preview = gazu.files.get_preview_file(preview if isinstance(preview, str) else preview["id"])
            folder = os.path.join(out, task["id"])
            os.makedirs(folder, exist_ok=True)
            path = os.path.join(folder, f"{preview['id']}.{preview['extension']}")
            with tqdm(unit="B", unit_scale=True, desc=os.path.basename(path)) as bar:

                def progress_callback(bytes_read, total):
                    bar.total = total
                    bar.update(bytes_read - bar.n)

                gazu.files.download_preview_file(preview, path, progress_callback=progress_callback)
            count += 1

accelerated = getattr(gazu.client.download, "libkitsu_accelerated", False)
print(f"{count} previews downloaded" + (" through libkitsu" if accelerated else ""))
