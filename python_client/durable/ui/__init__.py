"""`durable ui`: a server-rendered dashboard over the durable.* views (the extra durable[ui]).

create_app(dsn, allow_changes=False) builds the Flask application; serve(app, host, port) runs
it with waitress. Read-only unless allow_changes; payloads only for logins that may read them.
"""

from .app import UiError, create_app, parse_when, serve

__all__ = ["UiError", "create_app", "parse_when", "serve"]
