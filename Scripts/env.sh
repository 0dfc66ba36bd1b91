# Scripts/env.sh: source this (bash) to get the swcrypt test-bed environment.
# Prints nothing. Sets REPO and exports PATH, PKG_CONFIG_PATH, LD_LIBRARY_PATH,
# SWCRYPT_KERNEL (test kernel image) and SWCRYPT_CRYPTSETUP (reference binary).

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

_swcrypt_prepend() { # VAR DIR: put DIR first in the colon list VAR, once
    local var="$1" dir="$2" cur
    cur=":${!var-}:"
    cur="${cur//:$dir:/:}"
    cur="${cur#:}"; cur="${cur%:}"
    printf -v "$var" '%s' "$dir${cur:+:$cur}"
    export "${var?}"
}

_swcrypt_cs="$REPO/.deps/cryptsetup"
if [[ -d $_swcrypt_cs/lib/pkgconfig ]]; then
    _swcrypt_prepend PKG_CONFIG_PATH "$_swcrypt_cs/lib/pkgconfig"
fi
if [[ -d $_swcrypt_cs/lib ]]; then
    _swcrypt_prepend LD_LIBRARY_PATH "$_swcrypt_cs/lib"
fi

[[ -d /opt/swift/usr/bin ]] && _swcrypt_prepend PATH /opt/swift/usr/bin
for _swcrypt_d in "$_swcrypt_cs/bin" "$_swcrypt_cs/sbin"; do
    [[ -d $_swcrypt_d ]] && _swcrypt_prepend PATH "$_swcrypt_d"
done
[[ -d $REPO/.venv/bin ]] && _swcrypt_prepend PATH "$REPO/.venv/bin"
for _swcrypt_d in /usr/sbin /sbin; do
    [[ ":$PATH:" == *":$_swcrypt_d:"* ]] || PATH="$PATH:$_swcrypt_d"
done
export PATH

# Newest unpacked 6.12 kernel (version sort), unless the caller chose one.
# Empty when none is unpacked yet (a fresh machine): callers run Scripts/setup then.
# No pipeline here: this file is sourced under the callers' `set -euo pipefail`,
# where a failing `ls` would end them before setup could run.
if [[ -z ${SWCRYPT_KERNEL-} ]]; then
    SWCRYPT_KERNEL=""
    for _swcrypt_d in /boot/vmlinuz-6.12*; do
        [[ -f $_swcrypt_d ]] || continue
        if [[ -z $SWCRYPT_KERNEL ]] ||
           [[ "$(printf '%s\n%s\n' "$SWCRYPT_KERNEL" "$_swcrypt_d" | sort -V | tail -n1)" == "$_swcrypt_d" ]]; then
            SWCRYPT_KERNEL="$_swcrypt_d"
        fi
    done
fi
export SWCRYPT_KERNEL

if [[ -z ${SWCRYPT_CRYPTSETUP-} ]]; then
    if [[ -x $_swcrypt_cs/sbin/cryptsetup ]]; then
        SWCRYPT_CRYPTSETUP="$_swcrypt_cs/sbin/cryptsetup"
    elif [[ -x $_swcrypt_cs/bin/cryptsetup ]]; then
        SWCRYPT_CRYPTSETUP="$_swcrypt_cs/bin/cryptsetup"
    else
        SWCRYPT_CRYPTSETUP="$(command -v cryptsetup 2>/dev/null || true)"
    fi
fi
export SWCRYPT_CRYPTSETUP

unset _swcrypt_cs _swcrypt_d
unset -f _swcrypt_prepend
