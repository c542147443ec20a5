"""The HTTP side: the API routers (one module per resource), the web pages and their templates."""
