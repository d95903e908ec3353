"""Problem 5, "lost" variant, on real NiceGUI 3.x: ``python progress_lost_app.py PORT [chunks] [chunk_s]``.

Page ``/convert``: a ``Convert sample.txt`` button starts a background job (``chunks`` steps of ``chunk_s`` seconds,
defaults 10 and 0.3) that drives a ``ui.linear_progress`` on that page. The job lives on after the window closes
(it is an app-level task), but nothing links a reopened page to it: the new page shows 0 % and no progress, so the
user starts the job again. Markers: ``READY <port>``; ``PAGE /convert <client_id>``;
``JOB <job_id> start|step <i>/<n>|done`` (stdout), ``PROGRESS <client_id> <value>`` for each update sent to a page
(0.0..1.0), ``ATTACH <client_id> none`` when a page opens (the lost variant never finds the running job).
"""
import asyncio
import sys
import uuid

from nicegui import app, background_tasks, ui

PORT = int(sys.argv[1])
CHUNKS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
CHUNK_S = float(sys.argv[3]) if len(sys.argv) > 3 else 0.3


def say(*parts: object) -> None:
    print(*parts, flush=True)


@app.on_startup
def _ready() -> None:
    say('READY', PORT)


@ui.page('/convert')
async def convert() -> None:
    client = ui.context.client
    say('PAGE', '/convert', client.id)
    progress = ui.linear_progress(value=0.0, show_value=False)

    async def job(job_id: str) -> None:
        say('JOB', job_id, 'start')
        for i in range(1, CHUNKS + 1):
            await asyncio.sleep(CHUNK_S)
            say('JOB', job_id, 'step', f'{i}/{CHUNKS}')
            if not client.is_deleted:  # the page that started it; a reopened page is a different client
                progress.value = i / CHUNKS
                say('PROGRESS', client.id, progress.value)
        say('JOB', job_id, 'done')

    ui.button('Convert sample.txt', on_click=lambda: background_tasks.create(job(str(uuid.uuid4())[:8]), name='job'))
    await client.connected()
    say('ATTACH', client.id, 'none')


ui.run(host='127.0.0.1', port=PORT, reload=False, show=False, title='clientsim problem 5 (lost)')
