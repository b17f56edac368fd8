"""The agent's per-job state as data (h11's ``_state.py`` style): one enum, the events, one transition table.

Requests are decided concurrently (a veto may take time), but the job has one state:

- LISTENING: nothing has ended the job; a valid request can be accepted.
- ACCEPTED: a request was accepted; its ending (hook, drain, ``ctx.shutdown``) is under way.
- ACCEPTED_OVERTAKEN: accepted, but the job began ending for another cause before our ``ctx.shutdown``
  (livekit-agents keeps the first reason: the caller's reason will not reach the shutdown callbacks).
- SHUT_DOWN: ``ctx.shutdown`` was called for the accepted request.
- ENDING_OTHER_CAUSE: the job is ending for a cause other than a request (the application called
  ``ctx.shutdown``, the room disconnected, the shutdown callbacks ran); nothing can be accepted any more.

In every state but LISTENING a valid new request is answered ``already_shutting_down`` (spec §8).
"""

from __future__ import annotations

import enum


class JobState(enum.Enum):
    """Where the job is, as far as remote shutdown is concerned."""

    LISTENING = "listening"
    ACCEPTED = "accepted"
    ACCEPTED_OVERTAKEN = "accepted_overtaken"
    SHUT_DOWN = "shut_down"
    ENDING_OTHER_CAUSE = "ending_other_cause"


class JobEvent(enum.Enum):
    """What moves the job between states."""

    ACCEPT = "accept"  # a request was accepted
    JOB_ENDING = "job_ending"  # the job is ending for some cause (seen by the JobEndingWatch)
    SHUTDOWN_CALLED = "shutdown_called"  # the accepted request's ctx.shutdown was called


TRANSITIONS: dict[tuple[JobState, JobEvent], JobState] = {
    (JobState.LISTENING, JobEvent.ACCEPT): JobState.ACCEPTED,
    (JobState.LISTENING, JobEvent.JOB_ENDING): JobState.ENDING_OTHER_CAUSE,
    (JobState.ACCEPTED, JobEvent.JOB_ENDING): JobState.ACCEPTED_OVERTAKEN,
    (JobState.ACCEPTED, JobEvent.SHUTDOWN_CALLED): JobState.SHUT_DOWN,
    (JobState.ACCEPTED_OVERTAKEN, JobEvent.JOB_ENDING): JobState.ACCEPTED_OVERTAKEN,
    (JobState.ACCEPTED_OVERTAKEN, JobEvent.SHUTDOWN_CALLED): JobState.SHUT_DOWN,
    (JobState.SHUT_DOWN, JobEvent.JOB_ENDING): JobState.SHUT_DOWN,
    (JobState.ENDING_OTHER_CAUSE, JobEvent.JOB_ENDING): JobState.ENDING_OTHER_CAUSE,
}
"""Every allowed (state, event) pair and where it leads; any other pair is a bug (JobStateError)."""


class JobStateError(RuntimeError):
    """An event that the transition table does not allow in the current state."""


class JobStateMachine:
    """The current JobState, moved only through TRANSITIONS, plus the first cause the job is ending for."""

    def __init__(self) -> None:
        self.state = JobState.LISTENING
        self.ending_cause: str | None = None

    @property
    def listening(self) -> bool:
        """Whether a valid request can still be accepted."""
        return self.state is JobState.LISTENING

    def handle(self, event: JobEvent, cause: str | None = None) -> JobState:
        """Apply ``event``; ``cause`` (a shutdown reason) is kept if it is the first one. Returns the new state."""
        try:
            self.state = TRANSITIONS[(self.state, event)]
        except KeyError:
            raise JobStateError(f"{event.value} not allowed in state {self.state.value}") from None
        if cause is not None and self.ending_cause is None:
            self.ending_cause = cause or "unknown cause"
        return self.state
