#!/usr/bin/env bash
# Installs the Debian packages tide needs to build and test, when missing.
# Called by the Makefile, so a fresh Debian machine needs nothing else.
set -eu
# tshark and xmllint (libxml2-utils) check tide-sim's pcap and SVG output.
# The interop tests (tests/interop) talk to the Linux kernel's TCP in network
# namespaces: iproute2 (ip, ss), nftables (loss), curl, socat, python3.
pkgs="cmake make gcc pkg-config libcmocka-dev libxml2-utils tshark"
pkgs="$pkgs iproute2 nftables curl socat python3"
# tests/net/tun_ping.sh pings tide from the kernel side.
pkgs="$pkgs iputils-ping"
# make fuzz (and make test's short run): clang with libFuzzer.
pkgs="$pkgs clang libclang-rt-14-dev"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "tide: missing Debian packages:$missing" >&2
  echo "tide: run as root, or: sudo apt-get install -y$missing" >&2
  exit 1
fi
echo "tide: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# tshark's package would otherwise ask whether non-root users may capture.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get install -y $missing >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y $missing; }
