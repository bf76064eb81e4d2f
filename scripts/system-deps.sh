#!/usr/bin/env bash
# Install the Debian packages that counter needs beyond Python:
#   fonts-wqy-microhei   Chinese glyphs for printed slips (5 MB; Noto CJK is 91 MB)
#   fonts-hanazono       HanaMinA/B: CJK Extension A, B to F, compatibility ideographs
#                        (the rare characters of names; 52 MB), after WenQuanYi
#   fonts-babelstone-han BabelStone Han: U+9FEB-9FEF and Extensions G and H (50 MB)
#   libpango/harfbuzz    WeasyPrint's text layout and font subsetting
#   graphviz             `dot`, which draws workflow diagrams as SVG
#   poppler-utils        pdftotext/pdftoppm for slip tests and the README image
#   chromium(+driver)    the browser tests drive Debian's Chromium
#   nodejs (its npm)     installs axe-core (pinned, into the git-ignored .node/), which the
#                        browser tests inject into every page they visit
# Usage: scripts/system-deps.sh [run|test]. "run" needs only what the console
# needs; "test" adds the browser and PDF tools.
set -euo pipefail

want=(fonts-wqy-microhei fonts-hanazono fonts-babelstone-han libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 graphviz)
if [[ "${1:-run}" == "test" ]]; then
    want+=(poppler-utils chromium chromium-driver nodejs)
fi

AXE_VERSION=4.14.1
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
install_axe() {
    local axe="$root/.node/node_modules/axe-core/axe.min.js"
    [[ -f "$axe" ]] && grep -q "axe v$AXE_VERSION" "$axe" && return 0
    echo "counter: installing axe-core $AXE_VERSION into .node/"
    npm install --prefix "$root/.node" --no-save --no-audit --no-fund --silent "axe-core@$AXE_VERSION"
}

missing=()
for pkg in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# Debian ships npm apart from nodejs; some nodejs builds bring their own.
if [[ "${1:-run}" == "test" ]] && ! command -v npm >/dev/null; then
    missing+=(npm)
fi
if [[ ${#missing[@]} -eq 0 ]]; then
    [[ "${1:-run}" == "test" ]] && install_axe
    exit 0
fi

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "counter: installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "counter: these system packages are missing: ${missing[*]}" >&2
    echo "counter: install them as root:  sudo apt-get install ${missing[*]}" >&2
    exit 1
fi
[[ "${1:-run}" == "test" ]] && install_axe
exit 0
