"""maykin-common's three paths with one more check on /_healthz/ that warns."""
from django.urls import path
from health_check.views import HealthCheckView

from maykin_common.health_checks.urls import urlpatterns as maykin

everything, livez, readyz = maykin
urlpatterns = [
    path(
        "_healthz/",
        HealthCheckView.as_view(
            checks=[*everything.callback.view_initkwargs["checks"], "peer.checks.Disk"]
        ),
    ),
    livez,
    readyz,
]
