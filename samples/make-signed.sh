#!/usr/bin/env bash
# Build the signed samples with `fwkit pack` and the committed TEST key.
#
#   samples/signed/expander-2.10.scexe    self-extracting, HP-style (_SKIP, --unpack=DIR)
#   samples/signed/expander-2.10.zip      service-processor style zip
#   samples/signed/expander-2.10/         multi-file upgrade set (directory)
#
# samples/keys/fwkit-test.key is a TEST key, unencrypted and public on purpose:
# it proves nothing about who made a file. Never trust it for real firmware.
# Ed25519 signatures are deterministic and fwkit pack is reproducible
# (SOURCE_DATE_EPOCH below), so running this again gives the same bytes.
# Needs: cargo (builds fwkit), python3.
set -euo pipefail
export LC_ALL=C TZ=UTC SOURCE_DATE_EPOCH=1795219200
umask 022

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname -- "$here")
(cd "$root" && cargo build --release --quiet)
fwkit="$root/target/release/fwkit"
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

# The image set: the same pseudo-random bytes make-samples.sh uses, a flash
# script that flashes nothing, and a release note.
src="$work/expander"
mkdir -p "$src/tools"
python3 - "$src/PUF21000.bin" 65536 "fwkit-sample:PUF21000.bin" <<'PY'
import hashlib, sys
path, size, label = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
out = bytearray()
i = 0
while len(out) < size:
    out += hashlib.sha256(label + b":%d" % i).digest()
    i += 1
open(path, "wb").write(out[:size])
PY
printf '#!/bin/sh\n# fwkit sample: a real set would call sg_write_buffer here. It flashes nothing.\necho "would flash PUF21000.bin"\n' >"$src/tools/flash.sh"
chmod 0755 "$src/tools/flash.sh"
printf 'fwkit sample SAS expander image set 2.10. Not real firmware.\n' >"$src/README.txt"

out="$here/signed"
rm -rf -- "$out"
mkdir -p "$out"
key="$here/keys/fwkit-test.key"
common=(--name expander --version 2.10 --sign "$key")
"$fwkit" pack "$src" -o "$out/expander-2.10.scexe" --format scexe --run ./tools/flash.sh "${common[@]}" >/dev/null
"$fwkit" pack "$src" -o "$out/expander-2.10.zip" --format zip "${common[@]}" >/dev/null
"$fwkit" pack "$src" -o "$out/expander-2.10" --format set "${common[@]}" >/dev/null

for f in "$out/expander-2.10.scexe" "$out/expander-2.10.zip"; do
  "$fwkit" verify "$f" --key "$here/keys/fwkit-test.pub" >/dev/null
  sha256sum "$f" | sed "s|$here/||"
done
"$fwkit" verify "$out/expander-2.10" --key "$here/keys/fwkit-test.pub" >/dev/null
echo "signed samples verified with samples/keys/fwkit-test.pub"
