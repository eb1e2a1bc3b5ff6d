"""WSGI entry point for gunicorn (README "Production")."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cellchain.project.settings")
application = get_wsgi_application()
