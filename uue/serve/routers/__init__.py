"""One router per resource: queries, users, indexes, health (+ metrics), the page."""
