"""Why a channel or a watch was refused: a key and its values, so each reader gets the reason in their language.

`str()` is the English wording (the CLI, logs and tests read it); the web pages show the catalogue's
`<PREFIX><key>` in the reader's language (tracker/i18n), falling back to the English when the catalogue lacks it.
The same shape as tracker.read.filters' Refusal for URL arguments.
"""
from __future__ import annotations

from typing import Any, ClassVar


class NotifyRefusal(ValueError):
    """Base of ChannelError and WatchError: `key` names the reason, `values` fill its placeholders."""

    WORDING: ClassVar[dict[str, str]] = {}
    PREFIX: ClassVar[str] = ""

    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(self.WORDING[key].format(**values))
        self.key = key
        self.values = values

    @property
    def catalogue_key(self) -> str:
        """The key of this reason's wording in the string catalogues."""
        return self.PREFIX + self.key
