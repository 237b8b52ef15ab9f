# Shared by scripts/run and scripts/test (sourced, not run).

# uv never downloads a Python of its own: the machine's 3.11 is the one to use.
export UV_PYTHON_DOWNLOADS=never

# Sets UV to a command array that runs uv, installing uv with pip when it is missing.
ensure_uv() {
    if command -v uv >/dev/null 2>&1; then
        UV=(uv)
        return
    fi
    if python3 -m uv --version >/dev/null 2>&1; then
        UV=(python3 -m uv)
        return
    fi
    echo "==> Installing uv (pip)"
    python3 -m pip install --quiet --user uv 2>/dev/null \
        || python3 -m pip install --quiet uv 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages uv
    UV=(python3 -m uv)
}

# True when running as root or when sudo works without a password.
_as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo -n "$@"
    else
        return 1
    fi
}

# Install the Debian packages named as arguments that are not installed yet; apt-get update
# runs only when something is missing. Returns non-zero when they cannot be installed.
ensure_debian_packages() {
    local missing=()
    local pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "!! missing Debian packages (${missing[*]}) and no apt-get here" >&2
        return 1
    fi
    echo "==> Debian packages: ${missing[*]}"
    _as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        && _as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends "${missing[@]}" >/dev/null \
        || { echo "!! could not install ${missing[*]} (need root)" >&2; return 1; }
}

# Compile the gettext catalogs (.po -> .mo) when there are any; needs msgfmt (gettext).
compile_messages() {
    if ! ls comptoir/locale/*/LC_MESSAGES/*.po >/dev/null 2>&1; then
        return 0
    fi
    if ! command -v msgfmt >/dev/null 2>&1; then
        ensure_debian_packages gettext || true
    fi
    if command -v msgfmt >/dev/null 2>&1; then
        "${UV[@]}" run --frozen --no-sync comptoir manage compilemessages --ignore=.venv --ignore=var --ignore=node_modules -v 0
    else
        echo "!! msgfmt (Debian package gettext) is missing: the UI will show English only" >&2
    fi
}
