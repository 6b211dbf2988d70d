#!/usr/bin/env bash
# Installs what logwatch needs on a Debian machine (apt packages, then a
# virtualenv in .venv with logwatch and its test tools). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

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

# `logwatch` on PATH, as every README example calls it: a link to the virtualenv's
# command in /usr/local/bin for root, else ~/.local/bin (LOGWATCH_BIN_DIR overrides).
# An existing logwatch that is not such a link is left alone.
bin_dir=${LOGWATCH_BIN_DIR:-}
if [ -z "$bin_dir" ]; then
    if [ "$(id -u)" -eq 0 ]; then bin_dir=/usr/local/bin; else bin_dir="$HOME/.local/bin"; fi
fi
target="$PWD/.venv/bin/logwatch"
link="$bin_dir/logwatch"
mkdir -p "$bin_dir"
if [ -L "$link" ] || [ ! -e "$link" ]; then
    [ "$(readlink "$link" 2>/dev/null)" = "$target" ] || ln -sfn "$target" "$link"
else
    echo "setup: $link exists and is not a link: leaving it; use $target" >&2
fi
case ":$PATH:" in
    *":$bin_dir:"*) ;;
    *) echo "setup: add $bin_dir to PATH to call logwatch by name (or use $target)" >&2 ;;
esac
