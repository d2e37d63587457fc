#!/usr/bin/env bash
# Side-by-side benchmark: fwkit against the tools people use today, in one run.
#
#   bench/run.sh            # 128 MiB package (64 MiB random + 64 MiB mostly 0xFF, like a ROM)
#   bench/run.sh --big      # also measure peak memory on a 1 GiB package
#
# Needs: makeself, hyperfine, GNU tar, python3, /usr/bin/time (Debian: makeself hyperfine time).
# Work files go to bench/work/ (ignored by git). Prints a Markdown table of
# times and ratios (peer time / fwkit time: above 1 means fwkit is faster).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
work="$here/work"
runs="${RUNS:-10}"
big=0
[ "${1:-}" = "--big" ] && big=1

for tool in makeself hyperfine tar python3 zip unzip 7z /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench: needs $tool (apt-get install makeself hyperfine zip unzip p7zip-full time)" >&2; exit 2; }
done

(cd "$root" && cargo build --release --quiet)
fwkit="$root/target/release/fwkit"

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

mkdir -p "$work"
cd "$work"
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
print()
print(f"peak RSS: fwkit verify {int(sys.argv[1])//1024} MiB, fwkit unpack {int(sys.argv[2])//1024} MiB"
      + (f", fwkit verify of a 1 GiB package {int(sys.argv[3])//1024} MiB" if sys.argv[3] else ""))
EOF
