"""The smallest Django project that serves maykin-common's health URLs.

Every dependency comes from the environment, so one test can point the project at a
refused database, a refused or full Redis, or storage it cannot write:

    PEER_DB_PORT     PostgreSQL port on 127.0.0.1 (database PEER_DB_NAME, user postgres)
    PEER_CACHE_URL   the default cache, a redis:// URL (Django's own Redis backend)
    PEER_MEDIA_ROOT  the default storage's directory
    PEER_WARNING     when set, /_healthz/ also runs a check that raises this warning
"""
import os

SECRET_KEY = "comparison-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
INSTALLED_APPS = ["health_check"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "peer.urls"
USE_TZ = True
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": "127.0.0.1",
        "PORT": os.environ.get("PEER_DB_PORT", "5432"),
        "NAME": os.environ.get("PEER_DB_NAME", "test"),
        "USER": "postgres",
    }
}
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("PEER_CACHE_URL", "redis://127.0.0.1:6379/0"),
    }
}
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": os.environ.get("PEER_MEDIA_ROOT", "/tmp/peer-media")},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
LOGGING = {"version": 1, "disable_existing_loggers": True}
