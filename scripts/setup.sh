#!/usr/bin/env bash
# Installs what logwatch needs on a Debian machine (apt packages, then a
# virtualenv in .venv with logwatch and its test tools) and puts `logwatch` on PATH.
# Safe to run again. `setup.sh --link-only` does the last step only.
set -euo pipefail
cd "$(dirname "$0")/.."

install_packages_and_venv() {
    apt_packages=(
        systemd                 # journalctl
        systemd-journal-remote  # makes real journal files in tests and the demo
        libsystemd-dev pkg-config gcc python3-dev  # to build systemd-python
        python3-venv
        tmux                    # terminal tests of the dashboard
        xz-utils
        prometheus              # promtool: tests of contrib/prometheus rules and the dashboard
        prometheus-alertmanager # a real Alertmanager for the --alertmanager tests
        chromium                # headless: the tests load the HTML report in a real browser
        fonts-dejavu-core       # the fonts the report's screenshots are drawn in
    )
    missing=()
    for p in "${apt_packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if ((${#missing[@]})); then
        sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        echo "setup: installing ${missing[*]}" >&2
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi

    if [ ! -x .venv/bin/python ]; then
        python3 -m venv .venv
    fi
    stamp=.venv/.installed-$(cat pyproject.toml | sha1sum | cut -c1-12)
    if [ ! -e "$stamp" ]; then
        .venv/bin/python -m pip install -q --upgrade pip
        .venv/bin/python -m pip install -q -e '.[test]'
        touch "$stamp"
    fi
}

# `logwatch` on PATH, as every README example calls it: a link to this clone's command in
# /usr/local/bin for root, else ~/.local/bin (LOGWATCH_BIN_DIR overrides). A `logwatch`
# there that is not this clone's link (another clone's, the production install's in
# /opt/logwatch, a file) belongs to another install: said, and left alone. Only a dead
# link is taken over, and that is said too.
link_command() {
    local bin_dir=${LOGWATCH_BIN_DIR:-}
    if [ -z "$bin_dir" ]; then
        if [ "$(id -u)" -eq 0 ]; then bin_dir=/usr/local/bin; else bin_dir="$HOME/.local/bin"; fi
    fi
    local target="$PWD/.venv/bin/logwatch"
    local link="$bin_dir/logwatch"
    mkdir -p "$bin_dir"
    if [ -L "$link" ]; then
        local current
        current=$(readlink "$link")
        if [ "$(readlink -f "$link")" = "$(readlink -f "$target")" ]; then
            :  # this clone's own link
        elif [ ! -e "$link" ]; then
            echo "setup: $link was a dead link (to $current): pointing it at $target" >&2
            ln -sfn "$target" "$link"
        else
            echo "setup: $link belongs to another install (-> $current): leaving it;" \
                "this clone's logwatch is $target (remove the link and run setup again" \
                "to make it this one)" >&2
        fi
    elif [ -e "$link" ]; then
        echo "setup: $link exists and is not a link: leaving it; use $target" >&2
    else
        ln -s "$target" "$link"
    fi
    case ":$PATH:" in
        *":$bin_dir:"*) ;;
        *) echo "setup: add $bin_dir to PATH to call logwatch by name (or use $target)" >&2 ;;
    esac
}

[ "${1:-}" = "--link-only" ] || install_packages_and_venv
link_command
