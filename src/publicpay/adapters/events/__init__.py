"""Events out: the HTTP sender of webhooks and its URL guard."""
