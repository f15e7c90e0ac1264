"""``uue serve``: an HTTP API (FastAPI) and a page over one warm model and the active indexes.

``create_app(state)`` builds the application (``uue.serve.app``); ``run(state, host, port)``
runs it under uvicorn (``uue.serve.server``). Routers per resource live in ``uue.serve.routers``,
request and response models in ``uue.serve.schemas``, the shared objects (store,
searcher, settings) reach the endpoints through ``uue.serve.deps``.
"""
