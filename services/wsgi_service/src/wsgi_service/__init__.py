"""wsgi_service: what every WSGI service here runs on, besides its own app.

Settings from the environment (config), the waitress server with graceful
drain and signal handling (server), connections hostile clients cannot
exhaust (connections), the JSON access log with request ids (accesslog,
observe), build info (buildinfo), Prometheus metrics (metrics), the standard
routes around a service's own (app), and the entry point (main).
"""
