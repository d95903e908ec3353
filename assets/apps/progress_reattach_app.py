"""Problem 5, "re-attach" variant, on real NiceGUI 3.x:
``python progress_reattach_app.py PORT [chunks] [chunk_s] [key]``.

Same ``/convert`` page and job as progress_lost_app.py, but the job's state lives in an app-level dict and the page
re-attaches to it when reopened. ``key`` (argv[4]) chooses how the page finds its job:

* ``tab`` (default): the job id is kept in ``app.storage.tab`` (keyed by the browser's sessionStorage ``tab_id``, so
  a reload or a reopened tab that keeps its sessionStorage finds it; a new tab does not);
* ``file``: the job id is the SHA-256 hash of the input file (assets/files/sample.txt), so any page converting the
  same file finds the running job, and "choose the same file again" does not start a second job.

Markers: ``READY <port>``; ``PAGE /convert <client_id>``; ``JOB <job_id> start|step <i>/<n>|done``;
``ATTACH <client_id> <job_id> <value>`` when a page opens and finds a running or finished job (``none`` if not);
``PROGRESS <client_id> <value>`` for each update sent to a page; ``REUSE <job_id>`` when a click finds the job
already running.
"""
import asyncio
import hashlib
import sys
import uuid
from pathlib import Path

from nicegui import Client, app, background_tasks, ui

PORT = int(sys.argv[1])
CHUNKS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
CHUNK_S = float(sys.argv[3]) if len(sys.argv) > 3 else 0.3
KEY = sys.argv[4] if len(sys.argv) > 4 else 'tab'
FILE = Path(__file__).resolve().parents[1] / 'files' / 'sample.txt'
jobs: dict[str, dict] = {}  # job_id -> {'value': float, 'done': bool, 'pages': set of (client_id, progress)}


def say(*parts: object) -> None:
    print(*parts, flush=True)


@app.on_startup
def _ready() -> None:
    say('READY', PORT)


async def run_job(job_id: str) -> None:
    say('JOB', job_id, 'start')
    for i in range(1, CHUNKS + 1):
        await asyncio.sleep(CHUNK_S)
        jobs[job_id]['value'] = i / CHUNKS
        say('JOB', job_id, 'step', f'{i}/{CHUNKS}')
        for client_id, progress in list(jobs[job_id]['pages']):
            if client_id in Client.instances and not progress.is_deleted:
                progress.value = i / CHUNKS
                say('PROGRESS', client_id, progress.value)
            else:
                jobs[job_id]['pages'].discard((client_id, progress))
    jobs[job_id]['done'] = True
    say('JOB', job_id, 'done')


@ui.page('/convert')
async def convert() -> None:
    client = ui.context.client
    say('PAGE', '/convert', client.id)
    progress = ui.linear_progress(value=0.0, show_value=False)

    def attach(job_id: str) -> None:
        jobs[job_id]['pages'].add((client.id, progress))
        progress.value = jobs[job_id]['value']

    def start() -> None:
        job_id = hashlib.sha256(FILE.read_bytes()).hexdigest()[:12] if KEY == 'file' else str(uuid.uuid4())[:8]
        if job_id in jobs and not jobs[job_id]['done']:
            say('REUSE', job_id)
            attach(job_id)
            return
        jobs[job_id] = {'value': 0.0, 'done': False, 'pages': set()}
        if KEY == 'tab':
            app.storage.tab['job_id'] = job_id
        attach(job_id)
        background_tasks.create(run_job(job_id), name=f'job {job_id}')

    ui.button('Convert sample.txt', on_click=start)
    await client.connected()
    if KEY == 'tab':
        job_id = app.storage.tab.get('job_id')
    else:
        job_id = hashlib.sha256(FILE.read_bytes()).hexdigest()[:12]
    if job_id in jobs:
        attach(job_id)
        say('ATTACH', client.id, job_id, jobs[job_id]['value'])
    else:
        say('ATTACH', client.id, 'none')


ui.run(host='127.0.0.1', port=PORT, reload=False, show=False, title='clientsim problem 5 (re-attach)')
