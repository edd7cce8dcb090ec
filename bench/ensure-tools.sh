#!/bin/sh
# Install what `make bench` needs from Debian packages when it is missing: wrk (load),
# taskset (CPU pinning, util-linux) and PostgreSQL (variant e). Root or sudo.
set -eu

missing=""
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
command -v taskset >/dev/null 2>&1 || missing="$missing util-linux"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: the benchmarks need$missing, and there is no apt-get to install them with." >&2
    exit 1
fi
as_root=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "error: installing$missing needs root or sudo." >&2; exit 1; }
    as_root="sudo"
fi

# The benchmarks start a private PostgreSQL on a free port; keep the package's install
# script from starting the system service (policy-rc.d exit 101 = "not allowed").
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $as_root tee "$policy" >/dev/null
    $as_root chmod 755 "$policy"
    trap '$as_root rm -f "$policy"' EXIT
fi

echo "bench: installing$missing"
$as_root apt-get update -qq
# shellcheck disable=SC2086  # $missing is a word list on purpose
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
