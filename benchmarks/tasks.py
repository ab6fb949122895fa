"""The no-op Huey task: the queue's own ceiling on this machine (autodiscovered by the consumers)."""

from huey.contrib.djhuey import db_task, task


@task(name="bench.noop")
def noop(number: int) -> None:
    return None


@db_task(name="bench.db_noop")
def db_noop(number: int) -> None:
    return None
