"""The reasons a form's error or an error page gives, in the page's language: a reason that is
a message id is translated as it is; the reasons that carry what was typed ("'2x' is not a
duration ...") are read by the patterns below and said again in the language. Any other reason
shows as given."""

from __future__ import annotations

import re

from service.i18n import N_, gettext_for

# (what the validators write, the message id that says it in every language)
_WORDED: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.S), message)
    for pattern, message in (
        (
            r"^(?P<value>'.*') is not a duration \(e\.g\. 1d, 1h, 15m or PT15M\)$",
            N_("{value} is not a duration (e.g. 1d, 1h, 15m or PT15M)"),
        ),
        (r"^(?P<value>'.*') must be more than zero$", N_("{value} must be more than zero")),
        (
            r"^(?P<value>'.*') is not a duration: write its digits as 0-9$",
            N_("{value} is not a duration: write its digits as 0-9"),
        ),
        (
            r"^(?P<value>'.*'): months and years have no fixed length; give days \(P30D\)$",
            N_("{value}: months and years have no fixed length; give days (P30D)"),
        ),
        (
            r"^(?P<value>'.*') must be at least one second$",
            N_("{value} must be at least one second"),
        ),
        (
            r"^(?P<value>'.*') is not a whole number of seconds$",
            N_("{value} is not a whole number of seconds"),
        ),
        (r"^(?P<value>'.*') is more than 30 days$", N_("{value} is more than 30 days")),
        (r"^give at least one offset$", N_("give at least one offset")),
        (r"^at most 10 offsets$", N_("at most 10 offsets")),
        (
            r"^(?P<value>'.*') is not an IANA time zone(?: \(e\.g\. Asia/Tokyo\))?$",
            N_("{value} is not an IANA time zone (e.g. Asia/Tokyo)"),
        ),
        (r"^unknown visit (?P<value>'.*')$", N_("unknown visit {value}")),
        (
            r"^calendar invitations come by email: give an email address$",
            N_("calendar invitations come by email: give an email address"),
        ),
        (
            r"^contains a control character \((?P<value>U\+[0-9A-F]+)\).*$",
            N_("contains a control character ({value})"),
        ),
        (
            r"^(?P<value>\S+) is not accepted as a channel here; accepted: (?P<accepted>.*)$",
            N_("{value} is not accepted as a channel here; accepted: {accepted}"),
        ),
        (r"^no visit (?P<value>'.*')$", N_("no visit {value}")),
        (
            r"^the database is busy with other writes \(waited (?P<waited>[\d.]+) s\); "
            r"nothing was changed, try again in (?P<after>\d+) s$",
            N_("the server is busy with other changes: nothing changed, try again in {after} s"),
        ),
    )
)


def reason_in(reason: str, lang: str) -> str:
    """`reason` in `lang` when it is one we word; as given otherwise."""
    _ = gettext_for(lang)
    translated = _(reason)
    if translated != reason:
        return translated
    for pattern, message in _WORDED:
        found = pattern.match(reason)
        if found:
            return _(message).format(**found.groupdict())
    return reason
