#!/usr/bin/env bash
# Build fwkit's committed sample packages, byte for byte the same on every run.
#
#   samples/scexe/CP000000.scexe                   HP-style Linux Smart Component
#   samples/dell-dup/Firmware_FWKIT_LN_1.00_A00.BIN Dell-style Linux update package
#   samples/tar/puf-update.tar.gz                  plain gzip tarball
#
# Every byte comes from this script: our own shell stubs, our own XML, and
# pseudo-random "firmware" from SHA-256 in counter mode over a fixed label.
# None of it is vendor code or real firmware. Needs bash, GNU tar, gzip,
# python3 and sha256sum. Run from any directory; output goes next to this file.
# See samples/README.md for the layout of each sample and the tests using it.
set -euo pipefail

export LC_ALL=C TZ=UTC
umask 022

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

# fill FILE SIZE LABEL: SIZE deterministic pseudo-random bytes, block i being
# sha256("LABEL:i"), so the bytes depend on nothing but the label.
fill() {
	python3 - "$1" "$2" "$3" <<'PY'
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
}

# targz OUT DIR NAME...: gzip tar of NAMEs (relative to DIR) with fixed order,
# times, owners and no gzip name or timestamp.
targz() {
	local out=$1 dir=$2
	shift 2
	tar --create --format=ustar --sort=name --mtime=@0 \
		--owner=0 --group=0 --numeric-owner \
		-C "$dir" -- "$@" | gzip -n -9 >"$out"
}

# ---------------------------------------------------------------------------
# Shared firmware image: 64 KiB, used by the scexe and the tar sample.
fill "$work/PUF21000.bin" 65536 "fwkit-sample:PUF21000.bin"
chmod 0644 "$work/PUF21000.bin"

# ---------------------------------------------------------------------------
# samples/scexe/CP000000.scexe
# Layout: shell stub; its line _SKIP=N names the 1-based line where the gzip
# tar starts (right after the (N-1)th newline); the tar runs to end of file.
sc="$work/scexe"
mkdir "$sc"

cat >"$sc/CP000000.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<cpq_package version="2.0">
  <filename>CP000000.scexe</filename>
  <version value="2.10" revision="A" type_of_change="0"/>
  <name><name_xlate lang="en">fwkit sample Smart Array SAS expander firmware</name_xlate></name>
  <release_date year="2026" month="11" day="21" hour="0" minute="0" second="0"/>
  <description><![CDATA[Sample component made by fwkit's samples/make-samples.sh. Not real firmware.]]></description>
  <products><product rom="U30"/></products>
  <payload>
    <Devices>
      <Device>
        <DeviceName>SAS expander</DeviceName>
        <Target>a1b2c3d4-0000-4000-8000-000000000001</Target>
        <Version>2.10</Version>
        <FirmwareImages>
          <FileName>PUF21000.bin</FileName>
          <InstallDurationSec>120</InstallDurationSec>
          <ResetRequired>True</ResetRequired>
          <DirectFlashOk>True</DirectFlashOk>
          <UefiFlashable>False</UefiFlashable>
        </FirmwareImages>
      </Device>
    </Devices>
  </payload>
</cpq_package>
XML

cp "$work/PUF21000.bin" "$sc/PUF21000.bin"

cat >"$sc/hpsetup" <<'SH'
#!/bin/sh
# fwkit sample: stands where a vendor's setup script would be. It flashes nothing.
echo "hpsetup: this is an fwkit sample component; nothing was installed."
exit 0
SH

cat >"$sc/README.txt" <<'TXT'
fwkit sample Smart Array SAS expander firmware, version 2.10 (A)

This component was made by fwkit's samples/make-samples.sh to exercise
fwkit's reader for HP-style .scexe packages. PUF21000.bin holds
pseudo-random bytes, not firmware, and hpsetup installs nothing.
TXT

chmod 0644 "$sc/CP000000.xml" "$sc/PUF21000.bin" "$sc/README.txt"
chmod 0755 "$sc/hpsetup"
targz "$work/scexe.tar.gz" "$sc" CP000000.xml PUF21000.bin README.txt hpsetup

cat >"$work/scexe.stub" <<'STUB'
#!/bin/sh
# CP000000.scexe: a sample HP-style Linux Smart Component made by fwkit's
# samples/make-samples.sh. It is not HP software and holds no real firmware.
#
# Layout: this shell text, then a gzip-compressed tar from line _SKIP to the
# end of the file. fwkit reads that layout without running anything; this
# stub only lets the sample behave sensibly if someone runs it with sh.
#
# Usage: sh CP000000.scexe --unpack=DIR    extract the payload into DIR
_SKIP=@SKIP@

case "${1-}" in
--unpack=*)
	_dir=${1#--unpack=}
	if [ -z "$_dir" ]; then
		echo "usage: sh $0 --unpack=DIR" >&2
		exit 2
	fi
	mkdir -p -- "$_dir" || exit 1
	tail -n +$_SKIP "$0" | tar -xzf - -C "$_dir" || exit 1
	echo "unpacked to $_dir"
	exit 0
	;;
esac
echo "This is an fwkit sample component; it installs nothing." >&2
echo "To look inside: sh $0 --unpack=DIR" >&2
exit 1
STUB

# The payload starts on the line after the stub's last line. Substituting the
# number adds no newline, so the count is the same whatever its width.
stub_lines=$(wc -l <"$work/scexe.stub")
skip=$((stub_lines + 1))
sed "s/^_SKIP=@SKIP@\$/_SKIP=$skip/" "$work/scexe.stub" >"$work/scexe.head"
grep -qx "_SKIP=$skip" "$work/scexe.head"
[ "$(wc -l <"$work/scexe.head")" -eq "$stub_lines" ]

mkdir -p "$here/scexe"
cat "$work/scexe.head" "$work/scexe.tar.gz" >"$here/scexe/CP000000.scexe"
chmod 0644 "$here/scexe/CP000000.scexe"

# ---------------------------------------------------------------------------
# samples/dell-dup/Firmware_FWKIT_LN_1.00_A00.BIN
# Layout: shell stub, the line #####Startofpackage#####, the package XML, one
# blank line, the line #####Startofarchive#####, then a gzip tar to end of file.
dd="$work/dell"
mkdir -p "$dd/payload"

cat >"$dd/package.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<SoftwareComponent schemaVersion="2.4" packageID="FWKIT" releaseID="FWKIT" hashMD5="" path="Firmware_FWKIT_LN_1.00_A00.BIN" dateTime="2026-11-21T00:00:00+00:00" releaseDate="November 21, 2026" vendorVersion="1.00" dellVersion="1.00" packageType="LWXP" rebootRequired="false" xmlGenVersion="1.0">
  <Name><Display lang="en"><![CDATA[fwkit sample firmware]]></Display></Name>
  <ComponentType value="FRMW"><Display lang="en"><![CDATA[Firmware]]></Display></ComponentType>
  <Description><Display lang="en"><![CDATA[Sample Dell-style update package made by fwkit's samples/make-samples.sh. Not real firmware.]]></Display></Description>
</SoftwareComponent>
XML

fill "$dd/payload/firmimg.d9" 32768 "fwkit-sample:firmimg.d9"

cat >"$dd/payload/flash.sh" <<'SH'
#!/bin/sh
# fwkit sample: stands where a vendor's flash tool would be. It flashes nothing.
echo "flash.sh: this is an fwkit sample package; nothing was flashed."
exit 0
SH

chmod 0755 "$dd/payload" "$dd/payload/flash.sh"
chmod 0644 "$dd/package.xml" "$dd/payload/firmimg.d9"
targz "$work/dell.tar.gz" "$dd" package.xml payload

mkdir -p "$here/dell-dup"
{
	cat <<'STUB'
#!/bin/sh
# Firmware_FWKIT_LN_1.00_A00.BIN: a sample Dell-style Linux update package
# made by fwkit's samples/make-samples.sh. It is not Dell software and holds
# no real firmware.
#
# Layout: the package XML follows the Startofpackage marker line below; a gzip
# tar starts right after the Startofarchive marker line and runs to the end.
#
# Usage: sh Firmware_FWKIT_LN_1.00_A00.BIN --extract DIR
if [ "${1-}" = "--extract" ] && [ -n "${2-}" ]; then
	mkdir -p -- "$2" || exit 1
	LC_ALL=C sed '1,/^#####Startofarchive#####$/d' "$0" | tar -xzf - -C "$2" || exit 1
	echo "extracted to $2"
	exit 0
fi
echo "This is an fwkit sample update package; it installs nothing." >&2
echo "To look inside: sh $0 --extract DIR" >&2
exit 1
#####Startofpackage#####
STUB
	cat "$dd/package.xml"
	printf '\n#####Startofarchive#####\n'
	cat "$work/dell.tar.gz"
} >"$here/dell-dup/Firmware_FWKIT_LN_1.00_A00.BIN"
chmod 0644 "$here/dell-dup/Firmware_FWKIT_LN_1.00_A00.BIN"

# ---------------------------------------------------------------------------
# samples/tar/puf-update.tar.gz: the firmware image and a SHA256SUMS for it.
tt="$work/tar"
mkdir "$tt"
cp "$work/PUF21000.bin" "$tt/PUF21000.bin"
(cd "$tt" && sha256sum PUF21000.bin >SHA256SUMS)
chmod 0644 "$tt/PUF21000.bin" "$tt/SHA256SUMS"

mkdir -p "$here/tar"
targz "$here/tar/puf-update.tar.gz" "$tt" PUF21000.bin SHA256SUMS
chmod 0644 "$here/tar/puf-update.tar.gz"

# ---------------------------------------------------------------------------
echo "scexe _SKIP=$skip"
(cd "$here" && sha256sum scexe/CP000000.scexe \
	dell-dup/Firmware_FWKIT_LN_1.00_A00.BIN tar/puf-update.tar.gz)
