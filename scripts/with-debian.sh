#!/usr/bin/env bash
# Run COMMAND inside a root of Debian SUITE that has libvirt, QEMU and snaporacle from this checkout.
#
#   bash scripts/with-debian.sh [--rebuild] SUITE COMMAND...
#   e.g. bash scripts/with-debian.sh trixie snaporacle profile record --adapter libvirt \
#            --uri qemu:///embed --out rec.toml
#
# The root is built once with mmdebstrap --variant=apt from the Debian mirror that this machine's
# apt sources name, and cached in ${SNAPORACLE_ROOTS:-/var/cache/snaporacle/roots}/SUITE (outside
# the checkout; keep that path short: the embedded QEMU driver's monitor sockets live below it and a
# UNIX socket path stops at 108 bytes). --rebuild or SNAPORACLE_REBUILD=1 builds it again.
# Inside, a virtual environment (/opt/snaporacle/venv, --system-site-packages for the distribution's
# python3-libvirt) holds snaporacle installed editable from this checkout. The checkout and the
# current directory are mounted at the same paths inside, so relative paths work both ways; the
# command runs as root with a clean environment (env -i). All mounts live in a private mount
# namespace and are taken down when the command ends, on failure and on Ctrl-C too.
set -euo pipefail

usage() {
    echo "usage: $0 [--rebuild] SUITE COMMAND..." >&2
    exit 2
}

rebuild=${SNAPORACLE_REBUILD:-0}
if [ "${1:-}" = "--rebuild" ]; then
    rebuild=1
    shift
fi
[ "$#" -ge 2 ] || usage
suite=$1
shift
case "$suite" in
    *[!a-z0-9-]* | "") echo "$0: not a Debian suite name: '$suite'" >&2; exit 2 ;;
esac
if [ "$(id -u)" != 0 ]; then
    echo "$0: must run as root (mmdebstrap, mounts, chroot)" >&2
    exit 2
fi

# Everything below runs in a private mount namespace: the mounts cannot outlive the script.
if [ -z "${SNAPORACLE_MOUNT_NS:-}" ]; then
    export SNAPORACLE_MOUNT_NS=1 SNAPORACLE_REBUILD=$rebuild
    exec unshare --mount --propagation private bash "$0" "$suite" "$@"
fi

checkout=$(cd "$(dirname "$0")/.." && pwd -P)
roots=${SNAPORACLE_ROOTS:-/var/cache/snaporacle/roots}
root=$roots/$suite
venv=/opt/snaporacle/venv
packages=(libvirt-daemon-driver-qemu libvirt-daemon qemu-system-x86 qemu-utils python3 python3-libvirt
          python3-venv python3-pip ca-certificates passwd)

# The Debian archive this machine installs from: the URI of the apt source (one-line .list or
# deb822 .sources) that carries the host's own release, security and updates suites aside.
debian_mirror() {
    local codename
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    local files=() file
    for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$file" ] && files+=("$file")
    done
    [ "${#files[@]}" -gt 0 ] || return 0
    awk -v codename="$codename" '
        FILENAME ~ /\.sources$/ {
            if ($0 ~ /^[[:space:]]*$/) { uris = ""; suites = ""; next }
            if ($1 == "URIs:") uris = $2
            if ($1 == "Suites:") for (i = 2; i <= NF; i++) if ($i == codename) suites = codename
            if (uris != "" && suites != "") { print uris; exit }
            next
        }
        $1 == "deb" {
            i = 2
            if ($i ~ /^\[/) while ($i !~ /\]$/) i++
            if ($i ~ /^\[/ || $i ~ /\]$/) i++
            if ($(i + 1) == codename) { print $i; exit }
        }
    ' "${files[@]}"
}

build_root() {
    local mirror
    mirror=$(debian_mirror)
    if [ -z "$mirror" ]; then
        echo "$0: no Debian mirror found in /etc/apt/sources.list*" >&2
        exit 1
    fi
    command -v mmdebstrap >/dev/null || { echo "$0: mmdebstrap is missing: apt-get install mmdebstrap" >&2; exit 1; }
    local hooks=()
    local cert
    for cert in /usr/local/share/ca-certificates/*.crt; do
        [ -f "$cert" ] && hooks+=(--customize-hook="copy-in $cert /usr/local/share/ca-certificates/")
    done
    [ -f /etc/pip.conf ] && hooks+=(--customize-hook="copy-in /etc/pip.conf /etc/")
    if [ -f "$HOME/.config/pip/pip.conf" ]; then
        hooks+=(--customize-hook='mkdir -p "$1/root/.config/pip"'
                --customize-hook="copy-in $HOME/.config/pip/pip.conf /root/.config/pip/")
    fi
    echo "with-debian: building a $suite root in $root from $mirror" >&2
    rm -rf "$root.new"
    mkdir -p "$roots"
    local started=$SECONDS
    mmdebstrap --quiet --variant=apt --include="$(IFS=,; echo "${packages[*]}")" \
        --aptopt='Acquire::Check-Valid-Until "false"' \
        "${hooks[@]}" \
        --customize-hook='chroot "$1" update-ca-certificates >/dev/null 2>&1' \
        --customize-hook='chroot "$1" sh -c "getent passwd libvirt-qemu >/dev/null || useradd --system --no-create-home libvirt-qemu"' \
        --customize-hook="chroot \"\$1\" python3 -m venv --system-site-packages $venv" \
        --customize-hook='cp /etc/resolv.conf "$1/etc/resolv.conf"' \
        "$suite" "$root.new" "$mirror"
    echo "${packages[*]}" >"$root.new/opt/snaporacle/packages"
    rm -rf "$root"
    mv "$root.new" "$root"
    echo "with-debian: $suite root built in $((SECONDS - started)) s ($(du -sh "$root" | cut -f1))" >&2
}

mounted=()
unmount_all() {
    local i
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        umount -R "${mounted[$i]}" 2>/dev/null || umount -lR "${mounted[$i]}" 2>/dev/null || true
    done
    mounted=()
}
trap unmount_all EXIT
trap 'unmount_all; exit 130' INT
trap 'unmount_all; exit 143' TERM

mount_in() { # mount_in ARGS... TARGET
    local target=${*: -1}
    mkdir -p "$target"
    mount "$@"
    mounted+=("$target")
}

bind_same_path() {
    local path=$1
    case "$path" in / | "$checkout" | "$checkout"/* | "$roots" | "$roots"/*) return ;; esac
    mount_in --rbind "$path" "$root$path"
}

# Editable install of this checkout into the root's venv, again when another checkout used it.
install_snaporacle() {
    local stamp=$root/opt/snaporacle/checkout
    if [ "$(cat "$stamp" 2>/dev/null)" = "$checkout" ] && [ -x "$root$venv/bin/snaporacle" ]; then
        return
    fi
    echo "with-debian: installing snaporacle from $checkout into the $suite root" >&2
    in_root "$venv/bin/python" -m pip install -q -e "$checkout[test]" 2>&1 \
        | grep -v -e "WARNING: Location" -e "is ignored" -e "BuildBackendWarning" >&2 || true
    in_root "$venv/bin/snaporacle" --help >/dev/null
    echo "$checkout" >"$stamp"
}

in_root() {
    chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" \
        PATH="$venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" "$@"
}

mkdir -p "$roots"
exec 9>"$roots.lock"
flock 9
# built by an older version of this script with other packages: build again
if [ "$(cat "$root/opt/snaporacle/packages" 2>/dev/null)" != "${packages[*]}" ]; then
    rebuild=1
fi
if [ "$rebuild" = 1 ] || [ ! -x "$root$venv/bin/python" ]; then
    build_root
fi

mount_in -t proc proc "$root/proc"
mount_in --rbind /sys "$root/sys"
mount_in --rbind /dev "$root/dev"
mount_in -t tmpfs tmpfs "$root/run"
mount_in --rbind "$checkout" "$root$checkout"
cwd=$(pwd -P)
bind_same_path "$cwd"
install_snaporacle
flock -u 9

status=0
in_root sh -c 'cd "$1" && shift && exec "$@"' with-debian "$cwd" "$@" || status=$?
exit "$status"
