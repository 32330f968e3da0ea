# Sourced by scripts/test.sh: starts (or installs, then starts) the servers the tests use.
# Each function fails loudly with what to do when it cannot; tests never skip a missing server.
#
#   PostgreSQL 127.0.0.1:5432 (trust auth)   Redis     127.0.0.1:6379
#   MariaDB    127.0.0.1:3306                RabbitMQ  127.0.0.1:5672 (guest/guest)
#   memcached  127.0.0.1:11211
#
# Safe under `set -euo pipefail`. Installing needs root and a reachable Debian mirror.
# SERVICES_WAIT (seconds, default 60) bounds the wait for each port.

# True when something accepts TCP connections on 127.0.0.1:$1.
_svc_port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Waits (bounded) until 127.0.0.1:$1 accepts connections.
_svc_wait_port() {
    local port=$1 deadline=$((SECONDS + ${SERVICES_WAIT:-60}))
    while ((SECONDS < deadline)); do
        _svc_port_open "$port" && return 0
        sleep 0.5
    done
    return 1
}

# Installs Debian package $2 unless command $1 exists.
_svc_install() {
    local binary=$1 package=$2
    if command -v "$binary" >/dev/null 2>&1 || [ -x "$binary" ]; then
        return 0
    fi
    echo "services: $binary is missing, installing the Debian package $package" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y "$package" >&2; then
        apt-get update >&2 && apt-get install -y "$package" >&2
    fi
}

_svc_start_postgres() {
    local fresh=0 version
    if [ ! -d /etc/postgresql ] || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
        _svc_install pg_ctlcluster postgresql
        fresh=1
    fi
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    if [ "$fresh" = 1 ]; then
        # A fresh Debian cluster asks for passwords over TCP; the tests expect trust on loopback.
        local hba="/etc/postgresql/$version/main/pg_hba.conf"
        printf 'local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n' >"$hba"
    fi
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
}

_svc_start_redis() {
    _svc_install redis-server redis-server
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log
}

_svc_start_mariadb() {
    _svc_install /usr/sbin/mariadbd mariadb-server
    mkdir -p /run/mysqld
    chown mysql:mysql /run/mysqld 2>/dev/null || true
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
}

_svc_start_rabbitmq() {
    _svc_install rabbitmq-server rabbitmq-server
    rabbitmq-server -detached
}

_svc_start_memcached() {
    _svc_install memcached memcached
    local user=memcache
    id "$user" >/dev/null 2>&1 || user=nobody
    memcached -d -u "$user" -l 127.0.0.1 -p 11211 -m 64
}

# Starts $1 (a name) on port $2 with function $3 unless the port is already open.
_svc_ensure() {
    local name=$1 port=$2 start=$3
    if _svc_port_open "$port"; then
        return 0
    fi
    echo "services: $name is not listening on 127.0.0.1:$port, starting it" >&2
    if ! "$start" >&2; then
        echo "services: starting $name failed; start it by hand and run the tests again" >&2
        return 1
    fi
    if ! _svc_wait_port "$port"; then
        echo "services: $name is still not listening on 127.0.0.1:$port after ${SERVICES_WAIT:-60}s" >&2
        return 1
    fi
    echo "services: $name is up on 127.0.0.1:$port" >&2
}

# Makes sure every server the tests talk to is listening; exits non-zero naming the one that is not.
ensure_services() {
    local failed=0
    _svc_ensure PostgreSQL 5432 _svc_start_postgres || failed=1
    _svc_ensure Redis 6379 _svc_start_redis || failed=1
    _svc_ensure MariaDB 3306 _svc_start_mariadb || failed=1
    _svc_ensure RabbitMQ 5672 _svc_start_rabbitmq || failed=1
    _svc_ensure memcached 11211 _svc_start_memcached || failed=1
    if [ "$failed" != 0 ]; then
        echo "services: some servers are not running (see above); the tests need all of them" >&2
        return 1
    fi
}
