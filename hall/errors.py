"""Domain exceptions with a stable `code`; the web and signaling edges translate them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class HallError(Exception):
    """Base of every domain error: `code` is stable and documented, `message` is for people.

    `details` are extra members of the error object for programs (e.g. the candidates of
    `repeat_candidates`); most errors have none.
    """

    code = "error"

    def __init__(
        self,
        message: str,
        *,
        fields: Mapping[str, str] | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields: dict[str, str] = dict(fields or {})
        self.details: dict[str, Any] = dict(details or {})


class InvalidInput(HallError):
    """A request's content is wrong; `fields` maps each field to its reason."""

    code = "invalid_input"


class TooManyRepresentatives(InvalidInput):
    """A collective visit names more than 5 representatives (信访工作条例 Art. 20)."""

    code = "too_many_representatives"


class DuplicateParty(InvalidInput):
    """The same identity number twice among a registration's petitioner and representatives."""

    code = "duplicate_party"


class HeadCountTooLow(InvalidInput):
    """A head count (人数) below the number of people the registration names."""

    code = "head_count_below_representatives"


class RepeatCandidates(HallError):
    """The registration looks like a repeat (重信重访): `details["candidates"]` lists the cases;
    the registrar links the visit to one or confirms a new matter."""

    code = "repeat_candidates"


class NotFound(HallError):
    """The named object does not exist (or is not visible to the caller)."""

    code = "not_found"


class Conflict(HallError):
    """The object is not in a state that allows the operation; the message names the state."""

    code = "conflict"


class AccusedUnit(Conflict):
    """A 检举控告 would reach the unit it accuses (信访工作条例 forbids passing it to them)."""

    code = "accused_unit"


class Forbidden(HallError):
    """The caller's role may not do this."""

    code = "forbidden"


class Unauthenticated(HallError):
    """No valid session, or wrong credentials."""

    code = "unauthenticated"


class RateLimited(HallError):
    """Too many attempts; try again later."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class QueueEmpty(HallError):
    """ "Call next" found no waiting ticket in the caller's lines."""

    code = "queue_empty"


class UnsupportedType(HallError):
    """An uploaded file whose content is not one of the accepted types (the name does not count)."""

    code = "unsupported_type"


class FileTooLarge(HallError):
    """An uploaded file over the size limit; nothing of it is kept."""

    code = "file_too_large"


class FileMissing(HallError):
    """A document's row exists but its stored file does not (lost outside the hall)."""

    code = "file_missing"
