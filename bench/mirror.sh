# bench/run.sh --mirror: sourced by run.sh (uses $fwkit, $runs, the cwd bench/work).
#
# A generated mirror of 2,000 packages in a Dell-like layout (FOLDERnnnnnnnM/1/...): a third
# each Info-ZIP-style zips (Python zipfile, deflate), GNU-style tar.gz (Python tarfile) and
# makeself archives (the real makeself), of seeded pseudo-random files (incompressible, so the
# bytes on disk are the bytes hashed), sizes spread around MIRROR_SIZE/2000 (default 1024 MiB in
# all). Catalog.xml.gz lists each with size, hashMD5 and Cryptography/Hash SHA256; SHA256SUMS
# lists the same files for sha256sum -c.
make_mirror() {
  local dir="$1" mib="$2"
  rm -rf "$dir" "$dir.src"; mkdir -p "$dir" "$dir.src"
  python3 - "$dir" "$dir.src" "$mib" <<'EOF'
import io, os, random, sys, tarfile, zipfile
d, src, mib = sys.argv[1], sys.argv[2], int(sys.argv[3])
r = random.Random(20261207)
mean = (mib << 20) // 2000
for i in range(2000):
    size = max(4096, int(mean * r.uniform(0.25, 1.75)))
    files = {"firmware.bin": r.randbytes(size - 2048), "README": r.randbytes(1024),
             "setup.sh": b"#!/bin/sh\necho flashing would happen here\n"}
    folder = f"{d}/FOLDER{i:07d}M/1"
    os.makedirs(folder)
    kind = i % 3
    if kind == 0:
        with zipfile.ZipFile(f"{folder}/pkg{i}.zip", "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in files.items():
                z.writestr(name, data)
    elif kind == 1:
        with tarfile.open(f"{folder}/pkg{i}.tar.gz", "w:gz") as t:
            for name, data in files.items():
                info = tarfile.TarInfo(name); info.size = len(data); info.mode = 0o755
                t.addfile(info, io.BytesIO(data))
    else:
        tree = f"{src}/{i}"
        os.makedirs(tree)
        for name, data in files.items():
            open(f"{tree}/{name}", "wb").write(data)
        os.chmod(f"{tree}/setup.sh", 0o755)
EOF
  local i
  for tree in "$dir.src"/*; do
    i=$(basename "$tree")
    makeself --quiet "$tree" "$dir/FOLDER$(printf %07d "$i")M/1/pkg$i.run" "fwkit mirror bench $i" ./setup.sh >/dev/null
  done
  rm -rf "$dir.src"
  (cd "$dir" && find . -type f | LC_ALL=C sort | sed 's|^\./||' | xargs -d '\n' sha256sum) > SHA256SUMS.tmp
  mv SHA256SUMS.tmp "$dir.SHA256SUMS"
  python3 - "$dir" <<'EOF' > Catalog.xml
import hashlib, sys
d = sys.argv[1]
print('<?xml version="1.0" encoding="utf-8"?>')
print('<Manifest baseLocation="downloads.example.com" identifier="fwkit-bench" version="1">')
for i, line in enumerate(open(f"{d}.SHA256SUMS")):
    sha, path = line.rstrip("\n").split("  ", 1)
    data = open(f"{d}/{path}", "rb").read()
    print(f'<SoftwareComponent packageID="P{i}" path="{path}" size="{len(data)}" '
          f'hashMD5="{hashlib.md5(data).hexdigest()}" vendorVersion="1.{i}" packageType="LLXP">'
          f'<Name><Display lang="en"><![CDATA[Bench package {i}]]></Display></Name>'
          f'<ComponentType value="FRMW"/><Cryptography><Hash algorithm="SHA256">{sha}</Hash>'
          f'</Cryptography></SoftwareComponent>')
print('</Manifest>')
EOF
  gzip -n -f Catalog.xml
}

bench_mirror() {
  local mib="${MIRROR_SIZE:-1024}"
  local recipe="mirror v1: 2000 packages, $mib MiB, seed 20261207"
  if [ "$(cat mirror.stamp 2>/dev/null)" != "$recipe" ]; then
    rm -f mirror.stamp
    make_mirror mirror "$mib"
    echo "$recipe" > mirror.stamp
  fi
  local pin out
  pin=$(sha256sum Catalog.xml.gz | cut -d' ' -f1)
  echo "mirror: $(find mirror -type f | wc -l) packages, $(du -sb --apparent-size mirror | cut -f1) bytes;" \
    "Catalog.xml.gz $(stat -c %s Catalog.xml.gz) bytes; load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
  out=$("$fwkit" verify --catalog Catalog.xml.gz mirror --sha256 "$pin" 2>&1) ||
    { echo "bench: fwkit does not verify the mirror:" >&2; echo "$out" | head -n 20 >&2; exit 1; }
  (cd mirror && sha256sum -c --quiet ../mirror.SHA256SUMS) ||
    { echo "bench: sha256sum -c fails on the mirror" >&2; exit 1; }

  hyperfine --style basic --warmup 1 --runs "$runs" --export-json mirror.json \
    -n "fwkit verify --catalog --jobs 2" "$fwkit verify --catalog Catalog.xml.gz mirror --sha256 $pin -q --jobs 2" \
    -n "fwkit verify --catalog --jobs 1" "$fwkit verify --catalog Catalog.xml.gz mirror --sha256 $pin -q --jobs 1" \
    -n "sha256sum -c (same files)" "cd mirror && sha256sum -c --quiet ../mirror.SHA256SUMS" >/dev/null

  peak() { /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null | tail -n 1; }
  local rss1 rss2
  rss1=$(peak "$fwkit" verify --catalog Catalog.xml.gz mirror --sha256 "$pin" -q --jobs 1)
  rss2=$(peak "$fwkit" verify --catalog Catalog.xml.gz mirror --sha256 "$pin" -q --jobs 2)
  echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

  python3 - "$rss1" "$rss2" <<'EOF'
import json, sys
res = {r["command"]: r for r in json.load(open("mirror.json"))["results"]}
base = "fwkit verify --catalog --jobs 2"
targets = {"fwkit verify --catalog --jobs 1": (1.7, "≥1.7x"), "sha256sum -c (same files)": (1.0, ">1x")}
print()
print("| command (2,000-package mirror) | mean time | ratio to fwkit --jobs 2 |")
print("|---|---|---|")
for name, r in res.items():
    ratio = r["mean"] / res[base]["mean"]
    t = targets.get(name)
    note = "" if t is None else f" (target {t[1]}: {'met' if ratio >= t[0] and (t[0] > 1.0 or ratio > 1.0) else 'NOT met'})"
    print(f"| {name} | {r['mean']*1000:.0f} ms ± {r['stddev']*1000:.0f} | {ratio:.2f}x{note} |")
rss1, rss2 = int(sys.argv[1]) // 1024, int(sys.argv[2]) // 1024
ok = lambda v: "met" if v < 64 else "NOT met"
print()
print(f"peak RSS: --jobs 1 {rss1} MiB ({ok(rss1)}: <64 MiB per job), --jobs 2 {rss2} MiB = {rss2/2:.0f} MiB per job ({ok(rss2/2)})")
EOF
}
