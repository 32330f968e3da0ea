"""The official Python gRPC health client (grpcio-health-checking) against 127.0.0.1:PORT,
for the tests of gRPC health. Run through scripts/grpc-health-client.sh run.

  check PORT NAME...  one Check per name, 1 s each, on one channel: one line per name,
                      in order: the serving status (SERVING, NOT_SERVING, ...) or the
                      call's gRPC code (NOT_FOUND, UNAVAILABLE, ...)
  watch PORT NAME     a Watch: one line per message as it arrives, then END and the
                      code the call ended with (END OK, END UNAVAILABLE, ...); 30 s at most
  kubelet PORT NAME   as the kubelet probes: a new connection and one Check, 1 s for
                      both: the status or code, then the milliseconds it took
"""
import sys
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

WATCH_LIMIT = 30.0


def status_name(status):
    return health_pb2.HealthCheckResponse.ServingStatus.Name(status)


def check(stub, name, timeout=1.0):
    try:
        reply = stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=timeout)
        return status_name(reply.status)
    except grpc.RpcError as e:
        return e.code().name


def main(argv):
    if len(argv) < 3 or argv[1] not in ("check", "watch", "kubelet"):
        print(__doc__, file=sys.stderr)
        return 64
    mode, target, names = argv[1], "127.0.0.1:" + argv[2], argv[3:]
    if mode == "check":
        with grpc.insecure_channel(target) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            for name in names:
                print(check(stub, name), flush=True)
    elif mode == "watch":
        with grpc.insecure_channel(target) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            request = health_pb2.HealthCheckRequest(service=names[0] if names else "")
            try:
                for reply in stub.Watch(request, timeout=WATCH_LIMIT):
                    print(status_name(reply.status), flush=True)
                print("END OK", flush=True)
            except grpc.RpcError as e:
                print("END " + e.code().name, flush=True)
    else:
        started = time.monotonic()
        # The channel connects on the first call: the call's 1 s covers connect and RPC.
        with grpc.insecure_channel(target) as channel:
            got = check(health_pb2_grpc.HealthStub(channel), names[0] if names else "")
        print(got, int((time.monotonic() - started) * 1000), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
