"""End-to-end jobs over a workspace: evaluate and the demo."""
