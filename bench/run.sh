#!/usr/bin/env bash
# Side-by-side benchmark: fwkit against the tools people use today, in one run.
#
#   bench/run.sh            # 128 MiB package (64 MiB random + 64 MiB mostly 0xFF, like a ROM)
#   bench/run.sh --big      # also measure peak memory on a 1 GiB package
#   bench/run.sh --many     # only the many-small-files rows: 50,000 files of 100 B - 4 KiB as
#                           # a zip, two tar.gz layouts and a directory set, with targets
#   bench/run.sh --all      # all of the above
#   bench/run.sh --mirror   # only the mirror rows: a generated mirror of 2,000 packages (small zips,
#                           # tar.gz and makeself, ~1 GiB; MIRROR_SIZE=MiB shrinks it) with a
#                           # Dell-style Catalog.xml.gz: verify --catalog --jobs 2 vs --jobs 1 vs
#                           # sha256sum -c over the same files, and peak RSS, with targets
#
# Needs: makeself, hyperfine, GNU tar, python3, /usr/bin/time (Debian: makeself hyperfine time);
# --many needs zip, unzip, pigz, sha256sum, and strace for its syscall line (skipped without).
# The signature rows run when their tools are there: osslsigncode + openssl + grub-efi-amd64-bin
# (Authenticode), gpg + gpgv (OpenPGP .BIN.sign).
# RUNS=N sets hyperfine's runs per command (default 10); FWKIT=/path/to/fwkit times that
# binary instead of building this tree with cargo.
# Work files go to bench/work/ (ignored by git, kept between runs). Prints a Markdown table of
# times and ratios (peer time / fwkit time: above 1 means fwkit is faster).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
work="$here/work"
runs="${RUNS:-10}"
pkg=1 big=0 many=0 mirror=0
for arg in "$@"; do
  case "$arg" in
    --big) big=1 ;;
    --many) many=1 ;;
    --mirror) mirror=1 ;;
    --all) big=1 many=1 ;;
    *) echo "usage: bench/run.sh [--big] [--many] [--mirror] [--all]" >&2; exit 2 ;;
  esac
done
# --mirror runs only its own rows.
[ "$mirror" = 1 ] && pkg=0 many=0
# --many alone runs only its own rows; with --big (or --all) the package rows as well.
[ "$many" = 1 ] && [ "$big" = 0 ] && pkg=0

tools="hyperfine tar python3"
[ "$pkg" = 1 ] && tools="$tools makeself zip unzip 7z /usr/bin/time"
[ "$many" = 1 ] && tools="$tools zip unzip pigz sha256sum"
[ "$mirror" = 1 ] && tools="$tools makeself gzip sha256sum /usr/bin/time"
for tool in $tools; do
  command -v "$tool" >/dev/null || { echo "bench: needs $tool (apt-get install makeself hyperfine zip unzip p7zip-full pigz time)" >&2; exit 2; }
done

if [ -n "${FWKIT:-}" ]; then
  fwkit="$FWKIT"
  [ -x "$fwkit" ] || { echo "bench: FWKIT=$fwkit is not an executable file" >&2; exit 2; }
else
  (cd "$root" && cargo build --release --quiet)
  fwkit="$root/target/release/fwkit"
fi

# make_tree DIR MIB: MIB/2 of random bytes and MIB/2 of 0xFF with a little noise every 4 KiB.
make_tree() {
  local dir="$1" mib="$2"
  rm -rf "$dir"; mkdir -p "$dir"
  python3 - "$dir" "$mib" <<'EOF'
import random, sys
d, mib = sys.argv[1], int(sys.argv[2])
half = (mib << 20) // 2
r = random.Random(20261121)
with open(f"{d}/random.bin", "wb") as f:
    for _ in range(half >> 20):
        f.write(r.randbytes(1 << 20))
rom = bytearray(b"\xff" * half)
for i in range(0, half, 4096):
    rom[i:i + 16] = r.randbytes(16)
open(f"{d}/rom.bin", "wb").write(rom)
EOF
  printf '#!/bin/sh\necho "flashing would happen here"\n' > "$dir/setup.sh"
  chmod 0755 "$dir/setup.sh"
}

# payload_of PKG OUT: the bytes after makeself's stub (skip="N" lines).
payload_of() {
  local skip offset
  skip=$(grep -a -m1 '^skip="' "$1" | tr -dc 0-9)
  offset=$(head -n "$skip" "$1" | wc -c)
  tail -c +"$((offset + 1))" "$1" > "$2"
}

# make_many DIR: 50,000 files of 100 B to 4 KiB (seeded pseudo-random bytes, ~105 MB) in 100
# directories 00..99, and SHA256SUMS at the top made by sha256sum. Digits sort before "S", so
# tar --sort=name stores the manifest after every member.
make_many() {
  local dir="$1"
  rm -rf "$dir"; mkdir -p "$dir"
  python3 - "$dir" <<'EOF'
import os, random, sys
d = sys.argv[1]
r = random.Random(20261207)
for i in range(100):
    os.mkdir(f"{d}/{i:02d}")
for i in range(50000):
    with open(f"{d}/{i % 100:02d}/f{i:05d}.bin", "wb") as f:
        f.write(r.randbytes(r.randint(100, 4096)))
EOF
  (cd "$dir" && find . -type f | LC_ALL=C sort | sed 's|^\./||' | xargs -d '\n' sha256sum) > "$dir.sums"
  mv "$dir.sums" "$dir/SHA256SUMS"
}

# bench_many: the many-small-files rows, each peer against fwkit with the target it should meet.
bench_many() {
  local recipe="many v1: 50000 files 100-4096 B, seed 20261207" f out members
  if [ "$(cat many.stamp 2>/dev/null)" != "$recipe" ]; then
    rm -f many.stamp many.zip many-sorted.tar.gz many-first.tar.gz
    make_many many
    (cd many && zip -q -r ../many.zip .)
    # GNU tar + gzip. Sorted by name: ./SHA256SUMS comes after ./00 .. ./99, the common layout
    # (a verifier streaming the tar meets the manifest only at the end). And manifest first.
    (cd many && tar --sort=name -czf ../many-sorted.tar.gz .)
    (cd many && tar --sort=name -czf ../many-first.tar.gz ./SHA256SUMS ./[0-9][0-9])
    echo "$recipe" > many.stamp
  fi
  echo "many: $(($(wc -l < many/SHA256SUMS))) files, $(du -sb --apparent-size many | cut -f1) bytes;" \
    "many.zip $(stat -c %s many.zip), many-sorted.tar.gz $(stat -c %s many-sorted.tar.gz)," \
    "many-first.tar.gz $(stat -c %s many-first.tar.gz) bytes"
  for f in many.zip many-sorted.tar.gz many-first.tar.gz many; do
    out=$("$fwkit" verify "$f" 2>&1) || { echo "bench: fwkit does not verify $f:" >&2; echo "$out" | head -n 20 >&2; exit 1; }
  done

  hyperfine --style basic --warmup 1 --runs "$runs" --export-json many-zip.json \
    -n "fwkit verify many.zip" "$fwkit verify many.zip" \
    -n "unzip -tq many.zip" "unzip -tq many.zip" >/dev/null

  for f in sorted first; do
    hyperfine --style basic --warmup 1 --runs "$runs" --export-json "many-$f.json" \
      -n "fwkit verify many-$f.tar.gz" "$fwkit verify many-$f.tar.gz" \
      -n "pigz -dc many-$f.tar.gz > /dev/null" "pigz -dc many-$f.tar.gz > /dev/null" >/dev/null
    hyperfine --style basic --warmup 1 --runs "$runs" --export-json "many-$f-x.json" \
      --prepare "rm -rf out" \
      -n "tar -xzf many-$f.tar.gz -C out" "mkdir out && tar -xzf many-$f.tar.gz -C out" >/dev/null
    rm -rf out
  done

  hyperfine --style basic --warmup 1 --runs "$runs" --export-json many-set.json \
    -n "fwkit verify many/ (directory set)" "$fwkit verify many" \
    -n "cd many && sha256sum -c --quiet SHA256SUMS" "cd many && sha256sum -c --quiet SHA256SUMS" >/dev/null

  local syscalls=""
  if command -v strace >/dev/null; then
    members=$(unzip -Z1 many.zip | grep -vc '/$')
    if strace -c -f -e trace=read,pread64,lseek -o strace-zip.txt "$fwkit" verify many.zip >/dev/null 2>&1; then
      syscalls="$members $(awk '$NF == "read" { r = $4 } $NF == "pread64" { p = $4 } $NF == "lseek" { l = $4 }
        END { print r + 0, p + 0, l + 0 }' strace-zip.txt)"
    fi
  fi

  python3 - "$syscalls" <<'EOF'
import json, sys
def load(name):
    return {r["command"]: r for r in json.load(open(name))["results"]}
# (results file, command, fwkit command it is compared with, target on peer/fwkit or None)
fast2 = (lambda x: x >= 2.0, "≥2x")
near = (lambda x: x >= 1 / 1.15, "≥0.87x, i.e. fwkit within 1.15x")
faster = (lambda x: x > 1.0, ">1x")
rows = [("many-zip.json", "fwkit verify many.zip", "fwkit verify many.zip", None),
        ("many-zip.json", "unzip -tq many.zip", "fwkit verify many.zip", fast2)]
for f, layout in (("sorted", "manifest last"), ("first", "manifest first")):
    base = f"fwkit verify many-{f}.tar.gz"
    rows += [(f"many-{f}.json", base, base, None),
             (f"many-{f}.json", f"pigz -dc many-{f}.tar.gz > /dev/null", base, near),
             (f"many-{f}-x.json", f"tar -xzf many-{f}.tar.gz -C out", base, None)]
rows += [("many-set.json", "fwkit verify many/ (directory set)", "fwkit verify many/ (directory set)", None),
         ("many-set.json", "cd many && sha256sum -c --quiet SHA256SUMS", "fwkit verify many/ (directory set)", faster)]
bases = {"fwkit verify many.zip": "many-zip.json", "fwkit verify many-sorted.tar.gz": "many-sorted.json",
         "fwkit verify many-first.tar.gz": "many-first.json", "fwkit verify many/ (directory set)": "many-set.json"}
print()
print("| command (50,000 small files) | mean time | ratio to fwkit |")
print("|---|---|---|")
for f, name, base, target in rows:
    r = load(f)[name]
    b = load(bases[base])[base]
    ratio = r["mean"] / b["mean"]
    note = "" if target is None else f" (target {target[1]}: {'met' if target[0](ratio) else 'NOT met'})"
    label = name + (" (manifest last)" if name == "fwkit verify many-sorted.tar.gz" else
                    " (manifest first)" if name == "fwkit verify many-first.tar.gz" else "")
    print(f"| {label} | {r['mean']*1000:.0f} ms ± {r['stddev']*1000:.0f} | {ratio:.2f}x{note} |")
if sys.argv[1]:
    members, reads, preads, seeks = map(int, sys.argv[1].split())
    print()
    print(f"strace -c -f, fwkit verify many.zip ({members} file members): read {reads}, pread64 {preads},"
          f" lseek {seeks} = {reads / members:.2f} / {preads / members:.2f} / {seeks / members:.2f} per member")
EOF
}

mkdir -p "$work"
cd "$work"
if [ "$mirror" = 1 ]; then
  # shellcheck source=bench/mirror.sh
  . "$here/mirror.sh"
  bench_mirror
  exit 0
fi
if [ "$pkg" = 0 ]; then
  bench_many
  exit 0
fi
if [ ! -f pkg.run ]; then
  make_tree tree 128
  makeself --quiet tree pkg.run "fwkit benchmark" ./setup.sh >/dev/null
  payload_of pkg.run payload.tar.gz
fi
if [ ! -f pkg.zip ]; then
  # The same 128 MiB as a zip (Info-ZIP, deflate), as a service-processor package would be.
  [ -d tree ] || make_tree tree 128
  (cd tree && zip -q -r ../pkg.zip .)
fi
echo "package: $(stat -c %s pkg.run) bytes, payload $(stat -c %s payload.tar.gz) bytes (gzip tar of 128 MiB)"
"$fwkit" verify pkg.run >/dev/null || { echo "bench: fwkit does not verify the package" >&2; exit 1; }

hyperfine --style basic --warmup 2 --runs "$runs" --export-json verify.json \
  -n "fwkit verify" "$fwkit verify pkg.run" \
  -n "makeself --check" "sh pkg.run --check" >/dev/null

hyperfine --style basic --warmup 2 --runs "$runs" --export-json zipverify.json \
  -n "fwkit verify (zip)" "$fwkit verify pkg.zip" \
  -n "unzip -tq" "unzip -tq pkg.zip" >/dev/null

hyperfine --style basic --warmup 1 --runs "$runs" --export-json zipunpack.json \
  --prepare "rm -rf out" \
  -n "fwkit unpack (zip)" "$fwkit unpack pkg.zip -o out" \
  -n "unzip -q" "unzip -q pkg.zip -d out" \
  -n "7z x" "7z x -y -bd -oout pkg.zip" >/dev/null
rm -rf out

hyperfine --style basic --warmup 1 --runs "$runs" --export-json unpack.json \
  --prepare "rm -rf out" \
  -n "fwkit unpack (verified)" "$fwkit unpack pkg.run -o out" \
  -n "makeself --noexec --target (verified)" "sh pkg.run --noexec --quiet --target out" \
  -n "tar -xzf payload (unverified)" "mkdir out && tar -xzf payload.tar.gz -C out" >/dev/null
rm -rf out

# Authenticode: the 128 MiB zip appended to Debian's grubx64.efi like an HPE
# cp*.exe, signed by osslsigncode with a throwaway CA; fwkit verify --key
# against osslsigncode verify (both compute the image digest over the file).
grub=/usr/lib/grub/x86_64-efi/monolithic/grubx64.efi
if command -v osslsigncode >/dev/null && command -v openssl >/dev/null && [ -f "$grub" ]; then
  if [ ! -f pkg-signed.exe ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 \
      -subj "/CN=bench CA" -addext basicConstraints=critical,CA:TRUE \
      -addext keyUsage=critical,keyCertSign 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj "/CN=bench signer" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=codeSigning\n' > leaf.ext
    openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile leaf.ext -out leaf.pem 2>/dev/null
    cat "$grub" pkg.zip > pkg-unsigned.exe
    osslsigncode sign -certs leaf.pem -key leaf.key -h sha256 -in pkg-unsigned.exe -out pkg-signed.exe >/dev/null
  fi
  "$fwkit" verify pkg-signed.exe --key ca.pem >/dev/null || { echo "bench: fwkit does not verify the signed PE" >&2; exit 1; }
  hyperfine --style basic --warmup 2 --runs "$runs" --export-json authenticode.json \
    -n "fwkit verify --key (Authenticode)" "$fwkit verify pkg-signed.exe --key ca.pem" \
    -n "osslsigncode verify" "osslsigncode verify -CAfile ca.pem -in pkg-signed.exe" >/dev/null
fi

# OpenPGP: a Dell-like update package (shell stub, package.xml, #####Startofarchive#####,
# then the gzip tar of the same 128 MiB tree) with a detached PKG.BIN.sign made by gpg with
# a throwaway RSA-3072 key in a private GNUPGHOME; fwkit verify --key against gpgv (both hash
# the whole file; fwkit also inflates and checks the archive in the same pass).
if command -v gpg >/dev/null && command -v gpgv >/dev/null; then
  if [ ! -f pkg.BIN.sign ]; then
    rm -rf gnupg; mkdir -m 0700 gnupg
    {
      printf '#!/bin/sh\necho "this fwkit benchmark package installs nothing" >&2\nexit 1\n'
      printf '#####Startofpackage#####\n'
      printf '<SoftwareComponent schemaVersion="2.4" packageID="BENCH" releaseID="BENCH" vendorVersion="1.0" dellVersion="A00" packageType="LWXP">\n'
      printf '  <Name><Display lang="en"><![CDATA[fwkit benchmark package]]></Display></Name>\n</SoftwareComponent>\n'
      printf '\n#####Startofarchive#####\n'
      cat payload.tar.gz
    } > pkg.BIN
    GNUPGHOME="$PWD/gnupg" gpg --batch --quiet --passphrase '' --quick-generate-key \
      "fwkit bench <bench@example.com>" rsa3072 sign never 2>/dev/null
    GNUPGHOME="$PWD/gnupg" gpg --batch --yes --armor --export > pub.asc
    GNUPGHOME="$PWD/gnupg" gpg --batch --yes --export > pub.gpg
    GNUPGHOME="$PWD/gnupg" gpg --batch --yes --detach-sign --output pkg.BIN.sign pkg.BIN
    rm -rf gnupg
  fi
  "$fwkit" verify --key pub.asc pkg.BIN >/dev/null || { echo "bench: fwkit does not verify pkg.BIN" >&2; exit 1; }
  gpgv --keyring "$PWD/pub.gpg" pkg.BIN.sign pkg.BIN 2>/dev/null || { echo "bench: gpgv does not verify pkg.BIN" >&2; exit 1; }
  hyperfine --style basic --warmup 2 --runs "$runs" --export-json openpgp.json \
    -n "fwkit verify --key (OpenPGP .BIN.sign)" "$fwkit verify --key pub.asc pkg.BIN" \
    -n "gpgv" "gpgv --keyring $PWD/pub.gpg pkg.BIN.sign pkg.BIN" >/dev/null
fi

peak() { /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null | tail -n 1; }
rss_verify=$(peak "$fwkit" verify pkg.run)
rm -rf out; rss_unpack=$(peak "$fwkit" unpack pkg.run -o out); rm -rf out
rss_big=""
if [ "$big" = 1 ]; then
  if [ ! -f big.run ]; then
    make_tree bigtree 1024
    makeself --quiet bigtree big.run "fwkit benchmark 1 GiB" ./setup.sh >/dev/null
    rm -rf bigtree
  fi
  rss_big=$(peak "$fwkit" verify big.run)
fi

python3 - "$rss_verify" "$rss_unpack" "$rss_big" <<'EOF'
import json, sys
def load(name):
    return {r["command"]: r for r in json.load(open(name))["results"]}
def row(results, name, base):
    r = results[name]
    ratio = r["mean"] and results[base]["mean"] and r["mean"] / results[base]["mean"]
    return f"| {name} | {r['mean']*1000:.0f} ms ± {r['stddev']*1000:.0f} | {ratio:.2f}x |"
print()
print("| command | mean time | ratio to fwkit |")
print("|---|---|---|")
v = load("verify.json")
for name in v:
    print(row(v, name, "fwkit verify"))
u = load("unpack.json")
for name in u:
    print(row(u, name, "fwkit unpack (verified)"))
z = load("zipverify.json")
for name in z:
    print(row(z, name, "fwkit verify (zip)"))
z = load("zipunpack.json")
for name in z:
    print(row(z, name, "fwkit unpack (zip)"))
import os
if os.path.exists("authenticode.json"):
    a = load("authenticode.json")
    for name in a:
        print(row(a, name, "fwkit verify --key (Authenticode)"))
if os.path.exists("openpgp.json"):
    o = load("openpgp.json")
    for name in o:
        print(row(o, name, "fwkit verify --key (OpenPGP .BIN.sign)"))
print()
print(f"peak RSS: fwkit verify {int(sys.argv[1])//1024} MiB, fwkit unpack {int(sys.argv[2])//1024} MiB"
      + (f", fwkit verify of a 1 GiB package {int(sys.argv[3])//1024} MiB" if sys.argv[3] else ""))
EOF

if [ "$many" = 1 ]; then
  bench_many
fi
