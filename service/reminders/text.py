"""The words of a reminder or change notice: what, who, where, when in both zones, and links,
in the follower's language."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from service.i18n import DEFAULT_LANGUAGE, N_, gettext_for
from service.i18n.words import word
from service.models import Segment, Visit
from service.offsets import describe_offset
from service.reminders.notice_changes import Difference
from service.schedules.content_language import localized
from service.schedules.when import Timing, dated_line, when_in_zones


@dataclass(frozen=True)
class Links:
    segment_ics: str
    visit_feed: str
    unsubscribe: str


@dataclass(frozen=True)
class Message:
    title: str
    body: str


def when(segment: Segment, visit: Visit, follower_tz: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """ "15:00 JST / 07:00 CET", or what is known of an approximate time, in both zones."""
    zones = [visit.timezone] + ([follower_tz] if follower_tz != visit.timezone else [])
    return when_in_zones(Timing.of(segment), zones, lang)


_FIELD_NAMES = {
    "title": N_("Title"),
    "location": N_("Where"),
    "participants": N_("Who"),
    "status": N_("Status"),
}


def changed_lines(
    changes: Sequence[Difference], visit_tz: str, follower_tz: str, lang: str = DEFAULT_LANGUAGE
) -> list[str]:
    """ "Time: Tue 13 Jan 2026 14:00 JST (Asia/Tokyo) → Tue 13 Jan 2026 15:00 JST (...)", with
    the follower's own time on a line of its own, and a line for each other field."""
    _ = gettext_for(lang)
    lines = []
    for change in changes:
        if change.field == "time":
            before, after = change.before, change.after
            was, now = dated_line(before, visit_tz, lang), dated_line(after, visit_tz, lang)
            lines.append("  " + _("Time: {before} → {after}").format(before=was, after=now))
            if follower_tz != visit_tz:
                was = dated_line(before, follower_tz, lang)
                now = dated_line(after, follower_tz, lang)
                lines.append(
                    "  " + _("Your time: {before} → {after}").format(before=was, after=now)
                )
            continue
        name = _(_FIELD_NAMES[change.field]) if change.field in _FIELD_NAMES else change.field
        before_text, after_text = _shown(change.before, lang), _shown(change.after, lang)
        lines.append(f"  {name}{_(': ')}{before_text} → {after_text}")
    return lines


def _shown(value: object, lang: str = DEFAULT_LANGUAGE) -> str:
    _ = gettext_for(lang)
    if isinstance(value, list | tuple):
        return _(", ").join(str(item) for item in value) or _("(none)")
    return str(value) if value not in (None, "") else _("(none)")


def names(people: Sequence[str], lang: str = DEFAULT_LANGUAGE) -> str:
    """ "A", "A and B", "A, B and C" as the language joins a list."""
    _ = gettext_for(lang)
    if len(people) == 1:
        return people[0]
    return _("{first} and {last}").format(first=_(", ").join(people[:-1]), last=people[-1])


def headline(segment: Segment, lang: str = DEFAULT_LANGUAGE) -> str:
    parts = [localized(segment, "title", lang)]
    if segment.participants:
        parts.append(names(segment.participants, lang))
    if segment.location:
        parts.append(localized(segment, "location", lang))
    return " — ".join(parts)


def compose(
    kind: str,
    segment: Segment,
    visit: Visit,
    follower_tz: str,
    lead_seconds: int,
    links: Links,
    late: bool = False,
    changes: Sequence[Difference] = (),
    lang: str = DEFAULT_LANGUAGE,
) -> Message:
    """A reminder ("in 1 hour: ..."), a notice ("Cancelled: ...", with what changed, before and
    after) or a calendar invitation's cover note, for one follower, in `lang`."""
    _ = gettext_for(lang)
    timing = Timing.of(segment)
    moment = when(segment, visit, follower_tz, lang)
    head = headline(segment, lang)
    if kind == "reminder":
        title = _("{headline} — in {lead}: {when}").format(
            headline=head, lead=describe_offset(lead_seconds, lang), when=moment
        )
        if late:
            title += _(" (sent late)")
    elif kind == "cancelled":
        title = _("Cancelled: {headline} (was {when})").format(headline=head, when=moment)
    elif kind == "refined":
        title = _("Time confirmed: {headline} — {when}").format(headline=head, when=moment)
    elif kind == "invitation":
        title = _("In your calendar: {headline} — {when}").format(headline=head, when=moment)
    else:
        title = _("Changed: {headline} — now {when}").format(headline=head, when=moment)
    lines = [title, ""]
    if changes:
        lines += [
            _("What changed:"),
            *changed_lines(changes, visit.timezone, follower_tz, lang),
            "",
        ]
    lines += [
        _("Visit: {title}").format(title=localized(visit, "title", lang)),
        _("When: {when}").format(when=dated_line(timing, visit.timezone, lang)),
    ]
    if follower_tz != visit.timezone:
        lines.append(_("Your time: {when}").format(when=dated_line(timing, follower_tz, lang)))
    if segment.location:
        lines.append(_("Where: {place}").format(place=localized(segment, "location", lang)))
    if segment.participants:
        lines.append(_("Who: {names}").format(names=_(", ").join(segment.participants)))
    # English keeps the status as the API spells it ("confirmed"), which followers' filters read.
    status = segment.status if lang == DEFAULT_LANGUAGE else word(segment.status, lang)
    lines.append(_("Status: {status}").format(status=status))
    lines += [
        "",
        _("Add to your calendar: {url}").format(url=links.segment_ics),
        _("Follow the visit: {url}").format(url=links.visit_feed),
        _("Unsubscribe: {url}").format(url=links.unsubscribe),
    ]
    return Message(title=title, body="\n".join(lines) + "\n")


def compose_digest(
    messages: Sequence[Message], visit: Visit, lang: str = DEFAULT_LANGUAGE
) -> Message:
    """Several notices about one visit as one message: a burst of edits told once. The titles
    first, then each notice in full."""
    _ = gettext_for(lang)
    title = _("{count} changes: {visit}").format(
        count=len(messages), visit=localized(visit, "title", lang)
    )
    lines = [title, "", *(f"- {message.title}" for message in messages), ""]
    body = "\n".join(lines) + "\n" + "\n———\n\n".join(message.body for message in messages)
    return Message(title=title, body=body)


def compose_withdrawal(visit: Visit, links: Links, lang: str = DEFAULT_LANGUAGE) -> Message:
    """The cover note of a CANCEL for an event taken off the public schedule: it names the visit
    only, never the segment (what it now is was held back from the public)."""
    _ = gettext_for(lang)
    title = _("Withdrawn: an event of {visit} is no longer public").format(
        visit=localized(visit, "title", lang)
    )
    lines = [
        title,
        "",
        _("It was taken off the public schedule, so it is removed from your calendar."),
        "",
        _("Follow the visit: {url}").format(url=links.visit_feed),
        _("Unsubscribe: {url}").format(url=links.unsubscribe),
    ]
    return Message(title=title, body="\n".join(lines) + "\n")
