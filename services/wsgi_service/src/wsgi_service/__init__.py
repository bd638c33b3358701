"""wsgi_service: what every WSGI service here runs on, besides its own app.

Settings from the environment (config), the waitress server with graceful
drain and signal handling (server), connections hostile clients cannot
exhaust (connections), and around any WSGI app the middleware (middleware):
the standard endpoints, request ids, the JSON access log (accesslog,
observe), build info (buildinfo) and Prometheus metrics (metrics,
prometheus). The app is the service's own: written on the library's small
framework (app), or any PEP 3333 application named as waitress-serve names
it (loader; `python -m wsgi_service package.module:app`). The entry point is
main.
"""
