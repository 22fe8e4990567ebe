"""Security headers on every response (pages, JSON API, static files, errors).

- `Content-Security-Policy`: scripts, styles, fonts and connections from this origin only — no
  inline script, no inline style, no `eval`; images from this origin and `data:` (Swagger UI's
  icons); no plugins; forms post only here; `frame-ancestors 'none'`: no page can be framed.
- `X-Frame-Options: DENY` (older browsers), `X-Content-Type-Options: nosniff`,
  `Referrer-Policy: same-origin` (payment codes in URLs never leak to another site),
  `Cross-Origin-Opener-Policy: same-origin`.
- `Strict-Transport-Security` when the request came over HTTPS, directly or through a trusted
  proxy (`api.proxies`); never on plain HTTP, where it would mean nothing.

A response that already carries one of these headers keeps its own. Added by the edge
(`api.edge.Edge`): the header list is built once; per response it is one pass over the
response's headers.
"""

from __future__ import annotations

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HSTS = (b"strict-transport-security", b"max-age=31536000")
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
