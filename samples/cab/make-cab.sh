#!/usr/bin/env bash
# Build samples/cab/fwkit-sample-1.2.3.cab, an LVFS-style firmware cabinet,
# byte for byte the same on every run.
#
#   firmware.bin           40,000 pseudo-random bytes (SHA-256 in counter mode
#                          over a fixed label): not real firmware
#   firmware.metainfo.xml  our own AppStream metainfo: one firmware component,
#                          release 1.2.3 with SHA-1 and SHA-256 content
#                          checksums, a source artifact and the installed size
#   firmware.jcat          our own JCat file: gzip JSON with SHA-256 and SHA-1
#                          blobs for firmware.bin and the metainfo (no signatures)
#
# Packed by gcab (MSZIP, names without paths) with every file's time set to
# 2026-01-01 00:00:00 UTC. Needs bash, python3, gzip, sha1sum, sha256sum and
# gcab. Run from any directory; the cabinet goes next to this script. See
# samples/README.md and formats/cab.md.
set -euo pipefail

export LC_ALL=C TZ=UTC
umask 022

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
cd "$work"

python3 - firmware.bin 40000 "fwkit-sample:cab/firmware.bin" <<'PY'
import hashlib, sys
path, size, label = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
out = bytearray()
i = 0
while len(out) < size:
    out += hashlib.sha256(label + b":%d" % i).digest()
    i += 1
with open(path, "wb") as f:
    f.write(out[:size])
PY

sha1=$(sha1sum firmware.bin | cut -d' ' -f1)
sha256=$(sha256sum firmware.bin | cut -d' ' -f1)
size=$(wc -c <firmware.bin)

cat >firmware.metainfo.xml <<XML
<?xml version="1.0" encoding="UTF-8"?>
<!-- fwkit sample: made by samples/cab/make-cab.sh, not real firmware -->
<component type="firmware">
  <id>org.fwkit.SampleDevice.firmware</id>
  <name>fwkit sample device</name>
  <summary>Firmware for a device that does not exist</summary>
  <description>
    <p>Test data for fwkit. The payload is pseudo-random bytes.</p>
  </description>
  <provides>
    <firmware type="flashed">5f0b4ad2-1c3e-5d7a-9b8e-0f1a2b3c4d5e</firmware>
  </provides>
  <metadata_license>CC0-1.0</metadata_license>
  <project_license>CC0-1.0</project_license>
  <releases>
    <release version="1.2.3" date="2026-01-01" urgency="low">
      <checksum type="sha1" filename="firmware.bin" target="content">${sha1}</checksum>
      <checksum type="sha256" filename="firmware.bin" target="content">${sha256}</checksum>
      <size type="installed">${size}</size>
      <artifacts>
        <artifact type="source">
          <filename>firmware.bin</filename>
          <checksum type="sha256">${sha256}</checksum>
        </artifact>
      </artifacts>
      <description>
        <p>First sample release.</p>
      </description>
    </release>
  </releases>
</component>
XML

python3 - firmware.bin firmware.metainfo.xml >firmware.jcat.json <<'PY'
import hashlib, json, sys
items = []
for name in sys.argv[1:]:
    data = open(name, "rb").read()
    blobs = [
        {"Kind": 1, "Flags": 1, "Timestamp": 1767225600,
         "Data": hashlib.sha256(data).hexdigest()},
        {"Kind": 4, "Flags": 1, "Timestamp": 1767225600,
         "Data": hashlib.sha1(data).hexdigest()},
    ]
    items.append({"Id": name, "Blobs": blobs})
doc = {"JcatVersionMajor": 0, "JcatVersionMinor": 1, "Items": items}
sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
PY
gzip -n -9 <firmware.jcat.json >firmware.jcat

touch -d '2026-01-01 00:00:00' firmware.bin firmware.metainfo.xml firmware.jcat
out="$here/fwkit-sample-1.2.3.cab"
rm -f -- "$out"
gcab --create --zip --nopath "$out" firmware.bin firmware.metainfo.xml firmware.jcat
sha256sum "$out"
