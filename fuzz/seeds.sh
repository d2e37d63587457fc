#!/usr/bin/env bash
# Build the seed corpora of the fuzz targets into fuzz/seeds/<target>/.
#
#   fuzz/seeds.sh [OUT]      # from any directory; OUT defaults to fuzz/seeds
#
# Seeds are made here, not committed: a makeself archive embeds makeself's
# own script (samples/README.md), and the PE seed carries bytes of Debian's
# grubx64.efi headers. Everything else is the project's own samples and tiny
# trees packed by GNU tar, gzip/bzip2/xz/zstd/lz4, Info-ZIP zip, Python's
# zipfile/tarfile, minisign and signify. A missing tool skips its seeds with
# a message. Every seed is under 100 KiB.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
out="${1:-$here/seeds}"
rm -rf "$out"
mkdir -p "$out"/{authenticode,jcat,verify_bytes,layout,shell_assignments,detect,member_name,manifest,fwkit_manifest,minisign_signature,minisign_public_key,minisign_secret_key}
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

have() { command -v "$1" >/dev/null || { echo "seeds: $1 missing, skipping its seeds" >&2; return 1; }; }
# layout_seed FORMAT-INDEX FILE NAME: the layout target's first byte picks the format.
layout_seed() { { printf "\\x$(printf %02x "$1")"; head -c 65536 "$2"; } > "$out/layout/$3"; }

# A tiny tree: a "firmware" image, a script, a subdirectory, a manifest.
tree="$work/tree"
mkdir -p "$tree/sub"
python3 -c 'import hashlib,sys; sys.stdout.buffer.write(b"".join(hashlib.sha256(b"fwkit seed %d" % i).digest() for i in range(64)))' > "$tree/fw.bin"
printf '#!/bin/sh\necho "would flash here"\n' > "$tree/setup.sh"
chmod 0755 "$tree/setup.sh"
printf 'hello\n' > "$tree/sub/readme.txt"
(cd "$tree" && sha256sum fw.bin sub/readme.txt > SHA256SUMS && md5sum fw.bin > MD5SUMS)

# --- verify_bytes: whole packages -------------------------------------------
v="$out/verify_bytes"
# Every committed sample package (samples/<stem>/<file>; scripts, docs and keys aside).
for f in "$root"/samples/*/*; do
  case "$f" in *.sh|*.md|*/keys/*) continue ;; esac
  [ -f "$f" ] && cp "$f" "$v/"
done
tar --format=ustar -C "$tree" -cf "$work/tree.tar" .
cp "$work/tree.tar" "$v/tree.tar"
gzip -n -9 -c "$work/tree.tar" > "$v/tree.tar.gz"
have bzip2 && bzip2 -9 -c "$work/tree.tar" > "$v/tree.tar.bz2"
have xz && xz -c "$work/tree.tar" > "$v/tree.tar.xz"
have zstd && zstd -q --check -c "$work/tree.tar" > "$v/tree.tar.zst"
have lz4 && lz4 -q --content-size -c "$work/tree.tar" > "$v/tree.tar.lz4" 2>/dev/null || true
if have zip; then
  (cd "$tree" && zip -q -X -r "$v/tree.zip" .)
fi
if have makeself; then
  makeself --quiet "$tree" "$v/makeself-gzip.run" "fwkit seed" ./setup.sh >/dev/null
  makeself --quiet --sha256 --bzip2 "$tree" "$v/makeself-bzip2-sha256.run" "fwkit seed" ./setup.sh >/dev/null
  makeself --quiet --xz "$tree" "$v/makeself-xz.run" "fwkit seed" ./setup.sh >/dev/null
  makeself --quiet --nocomp "$tree" "$v/makeself-nocomp.run" "fwkit seed" ./setup.sh >/dev/null
fi
# Packages made and signed by fwkit itself (when a fwkit binary is built):
# zip and scexe with an FWKIT-MANIFEST and its minisign signature.
fwkit_bin=""
for b in "$root/target/release/fwkit" "$root/target/debug/fwkit"; do [ -x "$b" ] && fwkit_bin="$b" && break; done
if [ -n "$fwkit_bin" ]; then
  "$fwkit_bin" keygen -o "$work/seed" --no-password >/dev/null
  # pack writes SHA256SUMS itself: pack a copy of the tree without manifests.
  cp -r "$tree" "$work/pack-tree" && rm -f "$work/pack-tree/SHA256SUMS" "$work/pack-tree/MD5SUMS"
  for fmt in zip scexe tar.gz; do
    SOURCE_DATE_EPOCH=0 "$fwkit_bin" pack "$work/pack-tree" -o "$v/fwkit-signed.$fmt" --format "$fmt" \
      --name seed --version 1.0 --sign "$work/seed.key" >/dev/null 2>&1 \
      || echo "seeds: fwkit pack --format $fmt failed" >&2
  done
else
  echo "seeds: no fwkit binary built (cargo build), no fwkit-signed seeds" >&2
fi
# Hostile tars: escapes, links, long names, pax, special files, a huge size claim.
python3 - "$v" <<'EOF'
import io, sys, tarfile
d = sys.argv[1]
def tar(name, entries, fmt=tarfile.GNU_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for info, data in entries:
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    open(f"{d}/{name}", "wb").write(buf.getvalue())
def f(name, data=b"x", kind=tarfile.REGTYPE, link=""):
    i = tarfile.TarInfo(name); i.type = kind; i.linkname = link
    i.size = len(data) if kind == tarfile.REGTYPE else 0
    return (i, data if kind == tarfile.REGTYPE else None)
tar("hostile-escape.tar", [f("../x"), f("/abs"), f("a\\b"), f("C:x")])
tar("hostile-links.tar", [f("l", kind=tarfile.SYMTYPE, link="/etc"), f("l/x"),
                          f("q", kind=tarfile.SYMTYPE, link="."), f("p", kind=tarfile.SYMTYPE, link="q/.."),
                          f("h", kind=tarfile.LNKTYPE, link="../../etc/passwd")])
tar("hostile-special.tar", [f("fifo", kind=tarfile.FIFOTYPE), f("dev", kind=tarfile.CHRTYPE), f("dup"), f("dup")])
tar("long-names.tar", [f("d/" * 70 + "deep"), f("n" * 300)])
tar("pax.tar", [f("p" * 200), f("caf\u00e9")], fmt=tarfile.PAX_FORMAT)
# A ustar header that claims 2^60 bytes (octal does not fit: base-256 size field).
h = bytearray(tarfile.TarInfo("big").tobuf(format=tarfile.GNU_FORMAT)[:512])
h[124:136] = b"\x80" + (1 << 60).to_bytes(11, "big")
h[148:156] = b" " * 8
h[148:156] = b"%06o\0 " % sum(h)
open(f"{d}/huge-size-claim.tar", "wb").write(bytes(h) + b"\0" * 1024)
EOF
# A zip written by Python with a stored member and a symlink.
python3 - "$v/python.zip" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("stored.bin", b"\x00" * 100, compress_type=zipfile.ZIP_STORED)
    z.writestr("deflated.txt", b"fwkit " * 100, compress_type=zipfile.ZIP_DEFLATED)
    i = zipfile.ZipInfo("link"); i.external_attr = (0o120777 << 16); z.writestr(i, "stored.bin")
EOF
# PE + zip: grubx64.efi's headers only (section data cut away: each section's
# raw size set to 0), then a small zip as the overlay.
efi=/usr/lib/grub/x86_64-efi/monolithic/grubx64.efi
if [ -f "$efi" ] && [ -f "$v/tree.zip" ]; then
  python3 - "$efi" "$v/tree.zip" "$v/pe-zip.exe" <<'EOF'
import struct, sys
pe = open(sys.argv[1], "rb").read()
off = struct.unpack_from("<I", pe, 0x3c)[0]
nsec = struct.unpack_from("<H", pe, off + 6)[0]
opt = struct.unpack_from("<H", pe, off + 20)[0]
opt_off = off + 24
magic = struct.unpack_from("<H", pe, opt_off)[0]
size_of_headers = struct.unpack_from("<I", pe, opt_off + 60)[0]
head = bytearray(pe[:size_of_headers])
# Zero the certificate table directory entry (index 4).
dirs = opt_off + (112 if magic == 0x20b else 96)
head[dirs + 4 * 8: dirs + 5 * 8] = b"\0" * 8
sec = opt_off + opt
for i in range(nsec):
    s = sec + 40 * i
    head[s + 16:s + 24] = b"\0" * 8  # SizeOfRawData, PointerToRawData
open(sys.argv[3], "wb").write(bytes(head) + open(sys.argv[2], "rb").read())
EOF
else
  echo "seeds: $efi (grub-efi-amd64-bin) or zip missing, no PE seed" >&2
fi

# --- layout: selector byte + file --------------------------------------------
for f in "$v"/makeself-*.run; do [ -f "$f" ] && layout_seed 0 "$f" "$(basename "$f")"; done
layout_seed 1 "$v/CP000000.scexe" scexe
layout_seed 2 "$v/Firmware_FWKIT_LN_1.00_A00.BIN" dell
for f in "$v"/*.cab; do [ -f "$f" ] && layout_seed 6 "$f" "$(basename "$f")"; done
[ -f "$v/tree.zip" ] && layout_seed 3 "$v/tree.zip" zip
[ -f "$v/pe-zip.exe" ] && layout_seed 4 "$v/pe-zip.exe" pe
layout_seed 5 "$v/tree.tar.gz" tar

# --- shell_assignments and detect: stub text ---------------------------------
for f in "$v"/makeself-*.run "$v"/*.scexe "$v"/*.BIN; do
  [ -f "$f" ] || continue
  # The text before the first NUL (the payload of a gzip tar has one early).
  python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); sys.stdout.buffer.write(d[:d.find(b"\x1f\x8b") if b"\x1f\x8b" in d else 65536][:65536])' "$f" \
    > "$out/shell_assignments/$(basename "$f").sh"
done
printf 'label="x $(touch /tmp/x)"\nlicensetxt="say \\"yes\\"\nskip=\\"5\\""\nskip="3"\nMD5=abc; echo\n' > "$out/shell_assignments/quotes.sh"
cp "$out"/shell_assignments/* "$out/detect/"
for f in "$v"/*; do head -c 1024 "$f" > "$out/detect/head-$(basename "$f")"; done

# --- member_name --------------------------------------------------------------
m="$out/member_name"
printf './sub//file.bin' > "$m/dots"
printf '../../etc/passwd' > "$m/escape"
printf 'a\\b' > "$m/backslash"
printf 'C:x' > "$m/drive"
printf 'a/b/link\xff../c' > "$m/link"
printf 'a/b/link\xff../../../etc' > "$m/link-escape"
printf 'caf\xc3\xa9/\xe2\x80\x8b' > "$m/unicode"

# --- manifest: selector byte + text --------------------------------------------
cp "$tree/SHA256SUMS" "$work/m1"; printf '\x00' | cat - "$work/m1" > "$out/manifest/sha256sums"
printf '\x02' | cat - "$tree/MD5SUMS" > "$out/manifest/md5sums"
(cd "$tree" && sha256sum --tag fw.bin) | { printf '\x04'; cat; } > "$out/manifest/bsd"
{ printf '\x05'; md5sum < "$tree/fw.bin" | cut -d' ' -f1; } > "$out/manifest/bare-md5"
{ printf '\x00'; printf '\\%s  back\\\\slash\n' "$(sha256sum < "$tree/fw.bin" | cut -d' ' -f1)"; } > "$out/manifest/escaped"

# --- fwkit_manifest (formats/fwkit-manifest.md) ---------------------------------
{
  printf 'fwkit-manifest 1\nname fwkit seed\nversion 1.0\ncreated 0\n'
  (cd "$tree" && for f in fw.bin setup.sh sub/readme.txt; do
     printf 'file %s %s %04o %s\n' "$(sha256sum < "$f" | cut -d' ' -f1)" "$(stat -c %s "$f")" "0$(stat -c %a "$f")" "$f"
   done)
} > "$out/fwkit_manifest/FWKIT-MANIFEST"

# --- jcat (formats/cab.md, "JCat"): gzip'd JSON -------------------------------------
python3 - "$out/jcat" "$tree/fw.bin" <<'PY'
import base64, gzip, hashlib, json, sys
d, fw = sys.argv[1], open(sys.argv[2], "rb").read()
sha = hashlib.sha256(fw).hexdigest()
doc = {"JcatVersionMajor": 0, "JcatVersionMinor": 1, "Items": [
    {"Id": "fw.bin", "AliasIds": ["firmware.bin"], "Blobs": [
        {"Kind": 1, "Flags": 1, "Timestamp": 1700000000, "Data": sha},
        {"Kind": 4, "Flags": 1, "Timestamp": 1700000000, "Data": hashlib.sha1(fw).hexdigest()},
        {"Kind": 9, "Flags": 0, "Timestamp": 1700000000, "Target": 1,
         "Data": base64.b64encode(b"\0" * 64).decode()}]}]}
open(f"{d}/fw.jcat", "wb").write(gzip.compress(json.dumps(doc).encode(), mtime=0))
open(f"{d}/trailing.jcat", "wb").write(gzip.compress(b'{"JcatVersionMajor":0,"JcatVersionMinor":1,"Items":[]}', mtime=0) + b"\n")
PY

# --- signatures and keys -----------------------------------------------------------
if have minisign; then
  minisign -G -W -p "$work/m.pub" -s "$work/m.key" >/dev/null 2>&1 || minisign -G -W -f -p "$work/m.pub" -s "$work/m.key" >/dev/null
  minisign -S -s "$work/m.key" -m "$tree/fw.bin" -x "$out/minisign_signature/prehashed.minisig" -t "file:fw.bin" >/dev/null
  minisign -S -l -s "$work/m.key" -m "$tree/fw.bin" -x "$out/minisign_signature/legacy.minisig" >/dev/null 2>&1 || true
  cp "$work/m.pub" "$out/minisign_public_key/minisign.pub"
  tail -n 1 "$work/m.pub" > "$out/minisign_public_key/bare-base64"
  cp "$work/m.key" "$out/minisign_secret_key/unencrypted.key"
fi
if have signify-openbsd; then
  signify-openbsd -G -n -p "$work/s.pub" -s "$work/s.sec" >/dev/null
  signify-openbsd -S -s "$work/s.sec" -m "$tree/fw.bin" -x "$out/minisign_signature/signify.sig"
  cp "$work/s.pub" "$out/minisign_public_key/signify.pub"
fi

find "$out" -type f -size +100k -print -delete | sed 's/^/seeds: over 100 KiB, dropped: /' >&2
for d in "$out"/*/; do printf '%-22s %3d seeds\n' "$(basename "$d")" "$(find "$d" -type f | wc -l)"; done

# --- authenticode: certificate tables of Debian's signed shim and GRUB --------
# (two length bytes and an anchor certificate first: none, then the table).
for pe in /usr/lib/shim/shimx64.efi.signed /usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed; do
  [ -f "$pe" ] || { echo "seeds: $pe missing, skipping its authenticode seed" >&2; continue; }
  python3 - "$pe" "$out/authenticode/$(basename "$pe").table" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
opt = struct.unpack_from("<I", d, 0x3C)[0] + 24
dirs = opt + (112 if struct.unpack_from("<H", d, opt)[0] == 0x20B else 96)
at, size = struct.unpack_from("<II", d, dirs + 32)
open(sys.argv[2], "wb").write(b"\0\0" + d[at:at + size])
PY
done
