"""A check that raises the warning PEER_WARNING names, as a degraded service would."""
import dataclasses
import os

from health_check.base import HealthCheck
from health_check.exceptions import ServiceWarning


@dataclasses.dataclass
class Disk(HealthCheck):
    def run(self):
        raise ServiceWarning(os.environ["PEER_WARNING"])
