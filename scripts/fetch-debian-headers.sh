#!/usr/bin/env bash
# Downloads Debian packages (without installing them) and unpacks them into a project-local prefix.
# Used for ONNX Runtime's C/C++ API headers, which no npm package ships.
# Usage: fetch-debian-headers.sh PREFIX PACKAGE [PACKAGE...]
set -euo pipefail
prefix=$1; shift
[ $# -gt 0 ] || { echo "usage: $0 PREFIX PACKAGE..." >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$prefix"

# Reuse the archive URI of the machine's own Debian sources (deb822 or one-line format).
uri=""
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
fi
if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
  uri=$(awk '$1=="deb"{for(i=2;i<=NF;i++) if($i ~ /^(https?|file):/){print $i; exit}}' /etc/apt/sources.list)
fi
[ -n "$uri" ] || { echo "fetch-debian-headers: no Debian archive URI found in /etc/apt sources" >&2; exit 1; }

keyring=/usr/share/keyrings/debian-archive-keyring.gpg
echo "deb [signed-by=$keyring] $uri sid main contrib" > "$work/sources.list"
opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o Debug::NoLocking=1)
apt-get "${opts[@]}" -qq update
(cd "$work" && apt-get "${opts[@]}" -qq download "$@")
for deb in "$work"/*.deb; do dpkg -x "$deb" "$prefix"; done
echo "fetch-debian-headers: unpacked $* into $prefix"
