"""Signing for webhook receivers' own unit tests: `sign(secret, body, timestamp)` gives the
`X-OpenRouter-Signature` value ormock sends, `verify(secret, headers, body)` checks one. The
sender itself lives in `ormock.service.webhooks`."""

from .service.webhooks import sign, verify

__all__ = ["sign", "verify"]
