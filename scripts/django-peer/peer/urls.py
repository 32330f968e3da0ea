"""maykin-common's URL convention, as an application built on it includes it."""
import os

from django.urls import include, path

if os.environ.get("PEER_WARNING"):
    urlpatterns = [path("", include("peer.urls_warning"))]
else:
    urlpatterns = [path("", include("maykin_common.health_checks.urls"))]
