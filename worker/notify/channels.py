"""The one module that imports Apprise: send one message to one channel.

A channel is an Apprise URL (Slack, Teams, email, ntfy, JSON webhooks and more) read from
``AUTOCLOCK_NOTIFY_CHANNEL_<NAME>``. It is a secret: it may carry a token or a password. So
errors name the channel, never the URL, and Apprise's own logging (which prints hosts and
URLs) is switched off.

Addressing a person: for email channels (``mailto``/``mailtos``) the address becomes the
recipient (``to=``); for JSON/form/XML webhooks it is added to the payload as ``recipient``.
Other channels (a Slack or Teams channel) get the message as is: its text names the person.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import SecretStr

from worker.errors import NotifyError

__all__ = ["address_url", "check_url", "send"]

#: Apprise logs URLs and hosts: never let it reach our logs.
_APPRISE_LOG = logging.getLogger("apprise")
_APPRISE_LOG.setLevel(logging.CRITICAL + 10)
_APPRISE_LOG.propagate = False

_MAIL = {"mailto", "mailtos"}
_PAYLOAD = {"json", "jsons", "form", "forms", "xml", "xmls"}


def address_url(url: str, address: str | None) -> str:
    """``url`` addressed to ``address`` (see the module docstring); unchanged without one."""
    if not address:
        return url
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in _MAIL:
        key = "to"
    elif scheme in _PAYLOAD:
        key = ":recipient"
    else:
        return url
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != key]
    query.append((key, address))
    return urlunsplit(parts._replace(query=urlencode(query, safe=":@")))


def check_url(url: SecretStr) -> bool:
    """True when Apprise understands ``url`` (nothing is sent)."""
    import apprise  # its plugins are loaded only where a channel is used

    return bool(apprise.Apprise().add(url.get_secret_value()))


def send(channel: str, url: SecretStr, address: str | None, title: str, body: str) -> None:
    """Send ``title``/``body`` to ``channel``; :class:`NotifyError` (naming the channel only)
    when Apprise does not understand the URL or the channel does not accept the message."""
    import apprise  # its plugins are loaded only where a channel is used

    sender = apprise.Apprise()
    if not sender.add(address_url(url.get_secret_value(), address)):
        raise NotifyError(f"channel {channel!r}: its URL is not one Apprise understands")
    if not sender.notify(body=body, title=title):
        raise NotifyError(f"channel {channel!r} did not accept the notification")
