"""The per-job state table: every allowed move, and everything else refused."""

from __future__ import annotations

import itertools

import pytest

from shutdown_rpc.agent_side._state import TRANSITIONS, JobEvent, JobState, JobStateError, JobStateMachine


def test_only_listening_accepts_and_an_accepted_job_is_shut_down_once() -> None:
    job = JobStateMachine()
    assert job.listening
    assert job.handle(JobEvent.ACCEPT) is JobState.ACCEPTED and not job.listening
    with pytest.raises(JobStateError):
        job.handle(JobEvent.ACCEPT)
    assert job.handle(JobEvent.SHUTDOWN_CALLED, "remote shutdown by b [x]: r") is JobState.SHUT_DOWN
    with pytest.raises(JobStateError):
        job.handle(JobEvent.SHUTDOWN_CALLED)
    assert job.handle(JobEvent.JOB_ENDING, "room disconnected") is JobState.SHUT_DOWN
    assert job.ending_cause == "remote shutdown by b [x]: r"  # the first cause is kept


def test_another_cause_first_blocks_acceptance_and_overtakes_an_accepted_request() -> None:
    job = JobStateMachine()
    assert job.handle(JobEvent.JOB_ENDING, "user requested") is JobState.ENDING_OTHER_CAUSE
    with pytest.raises(JobStateError):
        job.handle(JobEvent.ACCEPT)
    accepted = JobStateMachine()
    accepted.handle(JobEvent.ACCEPT)
    assert accepted.handle(JobEvent.JOB_ENDING, "") is JobState.ACCEPTED_OVERTAKEN
    assert accepted.ending_cause == "unknown cause"
    assert accepted.handle(JobEvent.SHUTDOWN_CALLED, "mine") is JobState.SHUT_DOWN
    assert accepted.ending_cause == "unknown cause"


def test_the_table_is_the_only_way_to_move() -> None:
    for state, event in itertools.product(JobState, JobEvent):
        job = JobStateMachine()
        job.state = state
        if (state, event) in TRANSITIONS:
            assert job.handle(event) is TRANSITIONS[(state, event)]
        else:
            with pytest.raises(JobStateError):
                job.handle(event)
