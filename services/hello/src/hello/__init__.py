"""hello: a small production-grade HTTP greeting service (WSGI, served by waitress)."""
