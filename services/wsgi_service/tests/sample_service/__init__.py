"""A service made only for the library's tests: the smallest app on wsgi_service."""
