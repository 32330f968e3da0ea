#!/usr/bin/env python3
"""Serves the project on 127.0.0.1:PORT with Django's own threaded HTTP server.

`runserver` would refuse to start while the database is down (it checks migrations
first); the comparison needs the application up and answering 500 in that state.
"""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peer.settings")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from django.core.servers.basehttp import run
    from django.core.wsgi import get_wsgi_application

    run("127.0.0.1", int(sys.argv[1]), get_wsgi_application(), threading=True)
