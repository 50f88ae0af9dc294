"""Cron next-run times exactly as Node BullMQ 6.7 computes them (cron-parser 5.x), DST included.

A scheduler's iteration ids embed the run time (``repeat:<id>:<ms>``), so a pybull worker and a
Node worker must agree to the millisecond on every next run, or a mixed fleet would skip or shift
runs. croniter was tried first and disagrees with cron-parser on ``a-a`` ranges, ``5L`` weekdays,
``L`` combined with a weekday and on both DST transitions; this module follows cron-parser's rules
(field syntax, day-of-month/day-of-week combination, DST behaviour) and is checked against Node's
output in tests/interop/test_interop_scheduler.py.
"""

from __future__ import annotations

import bisect
import calendar
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pybull.errors import ValidationError

#: cron-parser's named expressions.
PREDEFINED = {
    "@yearly": "0 0 0 1 1 *",
    "@annually": "0 0 0 1 1 *",
    "@monthly": "0 0 0 1 * *",
    "@weekly": "0 0 0 * * 0",
    "@daily": "0 0 0 * * *",
    "@hourly": "0 0 * * * *",
    "@minutely": "0 * * * * *",
    "@secondly": "* * * * * *",
    "@weekdays": "0 0 0 * * 1-5",
    "@weekends": "0 0 0 * * 0,6",
}
_DEFAULTS = ("0", "*", "*", "*", "*", "*")
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    )
}
_DAYS = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
_ALIAS = re.compile(r"[a-z]{3}", re.I)
_BOUNDS = ((0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_NAMES = ("second", "minute", "hour", "day of month", "month", "day of week")
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MARGIN = timedelta(hours=3)  # more than any DST shift: how far wall-clock order and time order differ
#: How far ahead a pattern may have no run at all (cron-parser gives up after a bounded search too).
_MAX_DAYS = 366 * 30


@dataclass(frozen=True)
class CronPattern:
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    last_day: bool  # "L" in day of month
    months: frozenset[int]
    weekdays: frozenset[int]
    last_weekdays: frozenset[int]  # "5L": the last Friday of the month
    nth: int  # "1#2": only the 2nd Monday (0 = no constraint)
    days_restricted: bool  # cron-parser: the raw field is not "*" or "?"
    weekdays_restricted: bool

    def day_matches(self, day: date) -> bool:
        """cron-parser's rule: both restricted -> either matches; otherwise the restricted one."""
        if day.month not in self.months:
            return False
        last = calendar.monthrange(day.year, day.month)[1]
        dom = day.day in self.days or (self.last_day and day.day == last)
        weekday = (day.weekday() + 1) % 7
        dow = (weekday in self.weekdays and (self.nth <= 0 or -(-day.day // 7) == self.nth)) or (
            weekday in self.last_weekdays and day.day > last - 7
        )
        if self.days_restricted and self.weekdays_restricted:
            return dom or dow
        if not self.weekdays_restricted:
            return dom
        return dow


def _field(index: int, raw: str) -> tuple[list[int], bool]:
    """Values of one field and whether it holds "L" (cron-parser's list/range/step syntax)."""
    low, high = _BOUNDS[index]
    name = _NAMES[index]
    if index in (4, 5):

        def alias(match: re.Match[str]) -> str:
            key = match.group(0).lower()
            value = _MONTHS.get(key) if index == 4 else _DAYS.get(key)
            if value is None:
                raise ValidationError(f'cannot resolve alias "{key}" in the {name} field')
            return str(value)

        raw = _ALIAS.sub(alias, raw)
    if re.search(r"[^0-9*?,/L-]", raw):
        # cron-parser also knows H (a random value per parse) and rejects most else; W is unknown to it
        raise ValidationError(f"unsupported characters in the {name} field: {raw!r}")
    text = re.sub(r"[*?]", f"{low}-{high}", raw)
    values: list[int] = []
    has_last = False
    for atom in text.split(","):
        if not atom:
            raise ValidationError(f"empty list value in the {name} field")
        if (index == 3 and atom == "L") or (index == 5 and re.fullmatch(r"[0-7]L", atom)):
            has_last = True
            if index == 5:
                values.append(-1 - int(atom[0]) % 7)  # marker, decoded by the caller
            continue
        parts = atom.split("/")
        if len(parts) > 2:
            raise ValidationError(f"invalid step {atom!r} in the {name} field")
        step = 1
        if len(parts) == 2:
            if not parts[1].isdigit() or int(parts[1]) <= 0:
                raise ValidationError(f"invalid step {atom!r} in the {name} field")
            step = int(parts[1])
            if "-" not in parts[0]:
                parts[0] = f"{parts[0]}-{high}"
        bounds = parts[0].split("-")
        if len(bounds) > 2 or not all(b.isdigit() for b in bounds):
            raise ValidationError(f"invalid value {atom!r} in the {name} field")
        first, last = int(bounds[0]), int(bounds[-1])
        if first < low or last > high or first > last:
            raise ValidationError(f"value {atom!r} outside {low}-{high} in the {name} field")
        values.extend(range(first, last + 1, step))
    return values, has_last


def parse_pattern(pattern: str) -> CronPattern:
    """Parse 5 or 6 fields (seconds first), names, ranges, steps, L, nL and n#k; ValidationError if bad."""
    if not isinstance(pattern, str):
        raise ValidationError("cron pattern must be a string")
    expr = PREDEFINED.get(pattern, pattern).strip() or "0 * * * * *"
    fields = expr.split()
    if len(fields) > 6:
        raise ValidationError(f"Invalid cron expression {pattern!r}, too many fields")
    fields = [*_DEFAULTS[: 6 - len(fields)], *fields]
    nth = 0
    weekday_raw = fields[5]
    if "#" in weekday_raw:
        day, _, occurrence = weekday_raw.partition("#")
        if re.search(r"[,\-/]", weekday_raw) or not occurrence.isdigit() or not 1 <= int(occurrence) <= 5:
            raise ValidationError(f"invalid day of week {weekday_raw!r} in {pattern!r}")
        weekday_raw, nth = day, int(occurrence)
    parsed = [_field(i, raw) for i, raw in enumerate([*fields[:5], weekday_raw])]
    weekday_values = parsed[5][0]
    weekdays = frozenset(v % 7 for v in weekday_values if v >= 0)
    last_weekdays = frozenset(-1 - v for v in weekday_values if v < 0)
    months = frozenset(parsed[4][0])
    days = frozenset(parsed[3][0])
    if len(months) == 1:  # cron-parser drops days the single month never has (31 in April)
        fitting = frozenset(d for d in days if d <= _DAYS_IN_MONTH[next(iter(months)) - 1])
        if not fitting and not parsed[3][1] and fields[5] in ("*", "?"):
            raise ValidationError(f"Invalid explicit day of month definition in {pattern!r}")
        days = fitting or days
    return CronPattern(
        seconds=tuple(sorted(set(parsed[0][0]))),
        minutes=tuple(sorted(set(parsed[1][0]))),
        hours=tuple(sorted(set(parsed[2][0]))),
        days=days,
        last_day=parsed[3][1],
        months=months,
        weekdays=weekdays,
        last_weekdays=last_weekdays,
        nth=nth,
        days_restricted=fields[3] not in ("*", "?"),
        weekdays_restricted=fields[5] not in ("*", "?"),
    )


def _times_of_day(pattern: CronPattern, after: time | None) -> Iterator[time]:
    """Matching times of one day, ascending, strictly after ``after`` when given."""
    hours, minutes, seconds = pattern.hours, pattern.minutes, pattern.seconds
    start_h = 0 if after is None else bisect.bisect_left(hours, after.hour)
    for h in hours[start_h:]:
        same_h = after is not None and h == after.hour
        for m in minutes[bisect.bisect_left(minutes, after.minute) if same_h and after else 0 :]:
            same_m = same_h and after is not None and m == after.minute
            for s in seconds[bisect.bisect_right(seconds, after.second) if same_m and after else 0 :]:
                yield time(h, m, s)


def wall_times(pattern: CronPattern, after: datetime) -> Iterator[datetime]:
    """Naive local wall-clock times matching ``pattern``, ascending, strictly after ``after``."""
    day = after.date()
    first: time | None = after.time().replace(microsecond=0)
    for _ in range(_MAX_DAYS):
        if pattern.day_matches(day):
            for moment in _times_of_day(pattern, first):
                yield datetime.combine(day, moment)
        first = None
        day += timedelta(days=1)


def zone_of(tz: str | None) -> tzinfo:
    """The IANA zone, or the process's local zone (what Node uses without ``tz``)."""
    if tz:
        try:
            return ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(
                f"unknown time zone {tz!r} (use an IANA name such as 'Europe/Paris')"
            ) from None
    name = os.environ.get("TZ", "").lstrip(":")
    if not name:
        target = os.path.realpath("/etc/localtime")
        name = target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else ""
    try:
        return ZoneInfo(name) if name else _fixed_local()
    except (ZoneInfoNotFoundError, ValueError):
        return _fixed_local()


def _fixed_local() -> tzinfo:
    return datetime.now().astimezone().tzinfo or UTC


def _instants(wall: datetime, zone: tzinfo, after: datetime, hours_all: bool) -> list[datetime]:
    """When cron-parser fires for local wall time ``wall`` in a search starting at ``after``.

    * A wall time in a spring-forward gap fires at the same minute of the hour the clock lands on
      (02:30 -> 03:30), but only when the search crosses the gap: cron-parser keeps that in the
      iterator's state, and BullMQ starts a fresh search from every iteration.
    * A wall time repeated by a fall-back fires once (its first pass), unless the hour field allows
      every hour, or the search starts inside the repeated hour (then its second pass counts).
    """
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    first_utc, second_utc = first.astimezone(UTC), second.astimezone(UTC)
    if first_utc == second_utc:
        return [first_utc]
    pre, post = first.utcoffset(), second.utcoffset()
    assert pre is not None and post is not None
    after_offset = after.astimezone(zone).utcoffset()
    if pre < post:  # gap: fold=0 reads the wall time with the old offset, which lands after the gap
        crossed = after < first_utc - (post - pre) or after_offset == pre
        return [first_utc] if crossed else []
    inside_second = after >= second_utc - (pre - post) and after_offset == post
    return [first_utc, second_utc] if hours_all or inside_second else [first_utc]


def to_ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def next_cron_millis(
    pattern: str | CronPattern,
    millis: int,
    *,
    tz: str | None = None,
    start_date: int | None = None,
    end_date: int | None = None,
) -> int | None:
    """First run strictly after ``max(millis, start_date)`` (BullMQ's default repeat strategy);
    None when there is none before ``end_date`` (Node: cron-parser throws, BullMQ creates nothing)."""
    parsed = pattern if isinstance(pattern, CronPattern) else parse_pattern(pattern)
    zone = zone_of(tz)
    after = _EPOCH + timedelta(milliseconds=max(millis, start_date or 0))
    near_shift = (
        len({(after + d).astimezone(zone).utcoffset() for d in (-_MARGIN, timedelta(0), _MARGIN)}) > 1
    )
    start_wall = after.astimezone(zone).replace(tzinfo=None) - (
        _MARGIN if near_shift else timedelta(seconds=1)
    )
    hours_all = len(parsed.hours) == 24
    best: datetime | None = None
    for wall in wall_times(parsed, start_wall):
        if best is not None and wall - _MARGIN > best.astimezone(zone).replace(tzinfo=None):
            break  # nothing later in wall-clock order can be earlier in time than best
        for instant in _instants(wall, zone, after, hours_all):
            if instant > after and (best is None or instant < best):
                best = instant
        if best is not None and not near_shift:
            break
    if best is None:
        return None
    result = to_ms(best)
    return None if end_date is not None and result > end_date else result
