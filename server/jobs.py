"""Long server-side jobs with progress, checkpoints and re-attach: the ``/convert`` private page (problem 5).

Modelled on ebook2audiobook (Gradio) #207: a page starts a conversion of a file in ``N`` chunks and the server
streams progress to the page. What happens when the page is closed and reopened is policy:

* ``job_on_disconnect``: ``continue`` — the job keeps running (ebook2audiobook #207); ``cancel`` — the job is
  cancelled when its page's last socket disconnects (later ebook2audiobook versions).
* ``job_reattach``: false — a reopened page has a new client and knows nothing of the job (Gradio gives every
  page load a new session); true — at handshake the page re-attaches to the job whose id is kept in the tab's
  storage (``server.tab_storage[tab_id]['job_id']``, like NiceGUI ``app.storage.tab``, which lives on the server
  and is keyed by tab_id), and choosing a file whose job is running attaches to that job.

Output and checkpoint are keyed by the file's sha256 and kept in memory (``JobManager.outputs`` /
``JobManager.checkpoints``): starting the same file again after a cancel or finish resumes from the
checkpoint and skips the chunks already done (ebook2audiobook's workaround); the number skipped is recorded
(``job_chunks_skipped``) and shown in the page's label ``skipped K chunks``.

Timing: ``policy.job_chunks`` chunks of ``policy.job_chunk_s`` **seconds** each. Job tasks start on the
server's :class:`clientsim.simulator.tasks.TaskGroup` (``server.tasks``), so ``stop()`` awaits them. The page itself
(buttons, progress bar, labels) is built in :mod:`clientsim.server.pages`; this module updates it. NiceGUI has no such
module: the page's storage follows NiceGUI 2.11.0 ``nicegui/storage.py`` (``app.storage.tab``).
"""
from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from clientsim.simulator.timeline import SERVER

from .client import Client, ClientRegistry
from .context import ServerContext
from .downloads import FILES_DIR

CONVERT_ROUTE = '/convert'
RUNNING, FINISHED, CANCELLED = 'running', 'finished', 'cancelled'


def convert_files() -> list[Path]:
    """The files a ``/convert`` page offers: every regular file in ``assets/files/``, sorted by name."""
    return sorted(p for p in FILES_DIR.iterdir() if p.is_file() and not p.name.startswith('.'))


def file_sha256(path: Path) -> str:
    """Hex sha256 of the file's content. Raises OSError if it cannot be read."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Job:
    """One conversion: ``id`` (short hex), ``file`` (name in assets/files), ``sha256`` (of its content),
    ``chunks`` (N), ``done`` (indices of chunks done, checkpoint included), ``skipped`` (chunks taken from the
    checkpoint at start), ``state`` (running / finished / cancelled), ``subscribers`` (client_ids whose page
    shows this job's progress)."""
    id: str
    file: str
    sha256: str
    chunks: int
    done: set[int] = field(default_factory=set)
    skipped: int = 0
    state: str = RUNNING
    subscribers: set[str] = field(default_factory=set)
    task: Optional[asyncio.Task] = None

    @property
    def progress(self) -> float:
        """Fraction done, 0.0 … 1.0."""
        return len(self.done) / self.chunks if self.chunks else 1.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary for reports and the GUI."""
        return {'id': self.id, 'file': self.file, 'sha256': self.sha256[:16], 'chunks': self.chunks,
                'done': len(self.done), 'skipped': self.skipped, 'progress': round(self.progress, 3),
                'state': self.state, 'subscribers': len(self.subscribers)}


class JobManager:
    """``JobManager(server, registry)``: the jobs of one server (a :class:`ServerContext`); ``registry`` is its
    :class:`ClientRegistry`, where progress updates find the subscribed clients.
    ``jobs`` (job id → :class:`Job`), ``checkpoints`` (sha256 → done chunk indices),
    ``outputs`` (sha256 → {chunk index: hex sha256 of that chunk's bytes, the stand-in for converted audio}).

    Hooks into the server: :meth:`on_handshake` (re-attach), :meth:`on_disconnect` (cancel policy) and
    :meth:`on_delete` (forget a deleted client). Errors inside a job are recorded as ``server_error``.
    """

    def __init__(self, server: ServerContext, registry: ClientRegistry) -> None:
        self.server = server
        self.registry = registry
        self.jobs: dict[str, Job] = {}
        self.checkpoints: dict[str, set[int]] = {}
        self.outputs: dict[str, dict[int, str]] = {}

    # ---- queries --------------------------------------------------------------------------------------------
    def running_for(self, sha256: str) -> Optional[Job]:
        """The running job of this file hash, or None."""
        return next((j for j in self.jobs.values() if j.sha256 == sha256 and j.state == RUNNING), None)

    def count(self, state: str) -> int:
        """How many jobs are in ``state`` (running / finished / cancelled)."""
        return sum(1 for j in self.jobs.values() if j.state == state)

    def summary(self) -> list[dict[str, Any]]:
        """Every job as :meth:`Job.to_dict`, in start order."""
        return [j.to_dict() for j in self.jobs.values()]

    # ---- actions --------------------------------------------------------------------------------------------
    async def choose(self, client: Client, sid: str, file_name: str) -> Job:
        """The page chose ``file_name``: start its job, or attach to the running job of the same file hash.

        With a running job for the same sha256: ``job_reattach`` attaches ``client`` to it; otherwise the page
        says the file is busy (``job_busy``) and the running job is returned unchanged. Raises
        FileNotFoundError for a file not in assets/files."""
        path = FILES_DIR / file_name
        if path not in convert_files():
            raise FileNotFoundError(f'no file {file_name!r} in assets/files')
        sha = file_sha256(path)
        running = self.running_for(sha)
        if running is not None:
            if self.server.policy.job_reattach:
                await self.attach(running, client, via='file')
            else:
                self.server.timeline.record(SERVER, 'job_busy', sid=sid, client_id=client.id, job_id=running.id,
                                            file=file_name)
                await self._show(client, running, status=f'{file_name} is already being converted elsewhere')
            return running
        return await self.start(client, file_name, path, sha)

    async def start(self, client: Client, file_name: str, path: Path, sha: str) -> Job:
        """Start a job of ``policy.job_chunks`` chunks for the file, resuming from its checkpoint."""
        chunks = self.server.policy.job_chunks
        checkpoint = {i for i in self.checkpoints.get(sha, set()) if i < chunks}
        job = Job(uuid.uuid4().hex[:8], file_name, sha, chunks, done=set(checkpoint), skipped=len(checkpoint))
        self.jobs[job.id] = job
        if client.tab_id:
            self.server.tab_storage.setdefault(client.tab_id, {})['job_id'] = job.id
        self.server.timeline.record(SERVER, 'job_started', client_id=client.id, job_id=job.id, file=file_name,
                                    sha256=sha[:16], chunks=chunks, skipped=job.skipped)
        if job.skipped:
            self.server.timeline.record(SERVER, 'job_chunks_skipped', client_id=client.id, job_id=job.id,
                                        skipped=job.skipped, chunks=chunks)
        await self.attach(job, client, via='start')
        job.task = self.server.tasks.spawn(self._run(job, path), name=f'job {job.id}')
        return job

    async def attach(self, job: Job, client: Client, *, via: str) -> None:
        """Subscribe ``client`` to ``job`` and send it the current progress at once. ``via``: start / file /
        tab (how the page found the job)."""
        job.subscribers.add(client.id)
        client.state['job_id'] = job.id
        if via != 'start':
            self.server.timeline.record(SERVER, 'job_attached', client_id=client.id, job_id=job.id, via=via,
                                        progress=round(job.progress, 3))
        await self._show(client, job)

    def cancel(self, job: Job, *, reason: str) -> None:
        """Cancel a running job (its checkpoint stays). Records ``job_cancelled``."""
        if job.state != RUNNING:
            return
        job.state = CANCELLED
        if job.task is not None:
            job.task.cancel()
        self.server.timeline.record(SERVER, 'job_cancelled', job_id=job.id, reason=reason, done=len(job.done),
                                    chunks=job.chunks)

    async def _run(self, job: Job, path: Path) -> None:
        try:
            data = path.read_bytes()
            size = max(1, -(-len(data) // job.chunks))
            checkpoint = self.checkpoints.setdefault(job.sha256, set())
            output = self.outputs.setdefault(job.sha256, {})
            for index in range(job.chunks):
                if index in job.done:
                    continue
                await asyncio.sleep(self.server.policy.job_chunk_s)
                if job.state != RUNNING:
                    return
                output[index] = hashlib.sha256(data[index * size:(index + 1) * size]).hexdigest()
                job.done.add(index)
                checkpoint.add(index)
                self.server.timeline.record(SERVER, 'job_progress', job_id=job.id, chunk=index + 1,
                                            done=len(job.done), chunks=job.chunks, progress=round(job.progress, 3))
                await self._broadcast(job)
            job.state = FINISHED
            self.server.timeline.record(SERVER, 'job_finished', job_id=job.id, chunks=job.chunks,
                                        skipped=job.skipped)
            await self._broadcast(job)
        except asyncio.CancelledError:
            pass
        except Exception as e:  # recorded, the server keeps serving
            job.state = CANCELLED
            self.server.record_error(e, where=f'job {job.id}')

    async def _broadcast(self, job: Job) -> None:
        for client_id in list(job.subscribers):
            client = self.registry.get(client_id)
            if client is None or client.deleted:
                job.subscribers.discard(client_id)
                continue
            await self._show(client, job)

    async def _show(self, client: Client, job: Job, status: str | None = None) -> None:
        """Set the page's progress bar, status and skipped labels for ``job`` and send them as ``update``."""
        ids = client.state.get('convert')
        if not ids:
            return
        if status is None:
            status = {RUNNING: f'{job.file}: chunk {len(job.done)}/{job.chunks}',
                      FINISHED: f'{job.file}: done, {job.chunks}/{job.chunks} chunks',
                      CANCELLED: f'{job.file}: cancelled at chunk {len(job.done)}/{job.chunks}'}[job.state]
            client.elements[ids['progress']]['props']['value'] = round(job.progress, 4)
            client.elements[ids['skipped']]['text'] = skipped_text(job.skipped)
        client.elements[ids['status']]['text'] = status
        await client.send('update', {str(i): client.elements[i] for i in ids.values()})

    # ---- server hooks ---------------------------------------------------------------------------------------
    async def on_handshake(self, client: Client, sid: str) -> None:
        """With ``job_reattach``: attach a ``/convert`` page to the job kept in its tab's storage."""
        if not self.server.policy.job_reattach or client.route != CONVERT_ROUTE or not client.tab_id:
            return
        job = self.jobs.get(self.server.tab_storage.get(client.tab_id, {}).get('job_id'))
        if job is not None and client.id not in job.subscribers:
            await self.attach(job, client, via='tab')

    def on_disconnect(self, client: Client, sid: str) -> None:
        """With ``job_on_disconnect: cancel``: cancel the running jobs of a page whose last socket left, unless
        another connected page shows the same job."""
        if self.server.policy.job_on_disconnect != 'cancel' or client.has_socket_connection:
            return
        for job in list(self.jobs.values()):
            if job.state != RUNNING or client.id not in job.subscribers:
                continue
            others = [self.registry.get(c) for c in job.subscribers if c != client.id]
            if not any(c is not None and c.has_socket_connection for c in others):
                self.cancel(job, reason='page unloaded')

    def on_delete(self, client: Client) -> None:
        """Forget a deleted client in every job's subscribers."""
        for job in self.jobs.values():
            job.subscribers.discard(client.id)

    def reset(self) -> None:
        """Forget every job, checkpoint and output (server start), cancelling running tasks first."""
        self.stop()
        self.jobs.clear()
        self.checkpoints.clear()
        self.outputs.clear()

    def stop(self) -> None:
        """Cancel every running job task (server stop); jobs and checkpoints are kept."""
        for job in self.jobs.values():
            if job.task is not None and not job.task.done():
                job.task.cancel()
            if job.state == RUNNING:
                job.state = CANCELLED


def skipped_text(skipped: int) -> str:
    """The skipped label: ``skipped K chunks (resumed from checkpoint)``."""
    return f'skipped {skipped} chunks (resumed from checkpoint)' if skipped else 'skipped 0 chunks'
