# Sourced: `pm`, podman with the settings these machines need, and `need_podman`.
#
# podman and runc come from Debian's packages: as root (CI) they are installed when missing,
# as the other test servers are; otherwise their absence is a failure that says how to
# install them. podman's default ulimits cannot be set inside this kind of sandbox, so a
# containers.conf with `default_ulimits = []` is written (unless CONTAINERS_CONF names one
# already), and runc is the runtime (PODMAN_RUNTIME overrides it).
have_podman() { command -v podman >/dev/null && command -v "${PODMAN_RUNTIME:-runc}" >/dev/null; }
need_podman() {
    have_podman && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "podman or runc is missing: installing the Debian packages podman and runc" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y --no-install-recommends podman runc >&2 || { apt-get update >&2 && apt-get install -y --no-install-recommends podman runc >&2; }
    fi
    have_podman && return 0
    echo "podman and ${PODMAN_RUNTIME:-runc} are needed for the image: apt-get install -y podman runc" >&2
    return 1
}
need_podman || exit 1
if [ -z "${CONTAINERS_CONF:-}" ]; then
    conf_dir=${XDG_CACHE_HOME:-$HOME/.cache}/probe/podman
    mkdir -p "$conf_dir"
    printf '[containers]\ndefault_ulimits = []\n' > "$conf_dir/containers.conf"
    export CONTAINERS_CONF=$conf_dir/containers.conf
fi
pm() { podman --runtime "${PODMAN_RUNTIME:-runc}" "$@"; }
