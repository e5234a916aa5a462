"""Fixtures of the notification tests: the chat stand-ins on a loopback port, on the test clock."""
from __future__ import annotations

import pytest

from tracker.dev.chatsinks import ChatSinks


@pytest.fixture
def chats(clock):
    """The platform stand-ins, judging timestamps by the test clock (the sender's `now`)."""
    sinks = ChatSinks(clock=lambda: clock().timestamp()).start()
    yield sinks
    sinks.stop()
