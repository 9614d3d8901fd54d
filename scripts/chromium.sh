#!/usr/bin/env bash
# Installs headless Chromium (Debian's chromium package) for the browser
# test of the blog example (examples/blog/web, CACHEGEN_BROWSER=required),
# when it is missing. It prints the binary's path.
set -euo pipefail

find_chromium() { command -v chromium || command -v chromium-browser || command -v google-chrome; }

if ! find_chromium >/dev/null; then
	echo "chromium: installing Debian's chromium package" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
fi
bin=$(find_chromium) || { echo "chromium: not installed, and apt-get did not install it" >&2; exit 1; }
"$bin" --version >&2
echo "$bin"
