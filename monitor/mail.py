"""Outgoing e-mail over SMTP (plain, STARTTLS or SSL), shared by notifications and the digest."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from config.settings import Smtp


class MailError(Exception):
    """Sending failed; `transient` says whether trying again later may work."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


def new_message(
    smtp: Smtp,
    *,
    to: Sequence[str],
    subject: str,
    text: str,
    html: str | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    """A multipart (plain text, optionally HTML) message with a stable Message-ID if given."""
    msg = EmailMessage()
    msg["From"] = smtp.from_address
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    domain = smtp.from_address.rpartition("@")[2] or "socmon.local"
    msg["Message-ID"] = message_id or make_msgid(domain=domain)
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg


def send(smtp: Smtp, message: EmailMessage) -> None:
    """Deliver one message; MailError(transient=True) when the server is down or busy."""
    timeout = smtp.timeout.total_seconds()
    context = ssl.create_default_context()
    try:
        if smtp.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=timeout, context=context
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
        with client:
            if smtp.security == "starttls":
                client.starttls(context=context)
            if smtp.username:
                password = smtp.password.get_secret_value() if smtp.password else ""
                client.login(smtp.username, password)
            client.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(
            f"SMTP login refused ({exc.smtp_code}); check smtp.username and SOCMON_SMTP__PASSWORD",
            transient=False,
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise MailError(
            f"SMTP server refused every recipient: {sorted(exc.recipients)}", transient=False
        ) from None
    except smtplib.SMTPResponseException as exc:
        raise MailError(f"SMTP error {exc.smtp_code}", transient=exc.smtp_code < 500) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(
            f"SMTP server {smtp.host}:{smtp.port} unreachable ({type(exc).__name__})",
            transient=True,
        ) from None
