#!/usr/bin/env bash
# Renders the demo report in a real browser (Debian's chromium, headless) and fails if a picture
# is missing or broken. Usage:
#   build/check-report.sh [REPORT_DIR]     # default: run `cnn demo --out artifacts/demo` first
# Every picture of the report must be made: a picture the report lists as "not made" (a step
# whose SDK part is missing from the build) fails the check. CNN_REPORT_REQUIRE_ALL=0 relaxes
# that to a printed note (for a partial build); broken or blank pictures always fail.
# Exit codes: 0 all pictures render, 1 a picture is missing/broken or the page is blank,
# 2 chromium could not be installed or run, 3 the demo failed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${1:-$root/artifacts/demo}
require_all=${CNN_REPORT_REQUIRE_ALL:-1}
py=$(command -v python3 || true)
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
if [ -z "$py" ]; then echo "check-report: python3 is needed for the checks"; exit 2; fi

# 1. Chromium: Debian's package, installed here when missing (root or sudo needed).
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "check-report: chromium not found; installing Debian's chromium with apt-get"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  if ! { $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -q chromium >/tmp/check-report-apt.log 2>&1 ||
         { $sudo apt-get update -q >>/tmp/check-report-apt.log 2>&1 &&
           $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -q chromium >>/tmp/check-report-apt.log 2>&1; }; }; then
    tail -5 /tmp/check-report-apt.log; echo "check-report: could not install chromium"; exit 2
  fi
  browser=$(command -v chromium || true)
  [ -n "$browser" ] || { echo "check-report: chromium installed but not on PATH"; exit 2; }
fi
echo "check-report: browser $("$browser" --version 2>/dev/null | head -1)"

# 2. The report: the demo's output folder, produced now unless given.
if [ $# -eq 0 ]; then
  echo "check-report: running the demo (cnn demo --out $out)"
  start=$SECONDS
  # Release: the trainer's kernels are several times slower without the JIT optimizer.
  if ! dotnet run -c Release --project src/Cnn.Cli -- demo --out "$out"; then
    echo "check-report: the demo failed"; exit 3
  fi
  echo "check-report: demo took $((SECONDS - start)) s"
fi
html=$out/report.html
[ -f "$html" ] || { echo "check-report: no report at $html"; exit 1; }

# 3. The browser: DOM after load (the page marks each <img> data-loaded=ok|broken) and a screenshot.
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --disable-dev-shm-usage --hide-scrollbars
       --user-data-dir="$profile" --virtual-time-budget=5000)
dom=$out/report.dom.html
shot=$out/report.screenshot.png
rm -f "$dom" "$shot"
if ! timeout 120 "$browser" "${flags[@]}" --dump-dom "file://$html" >"$dom" 2>"$out/chromium.log"; then
  tail -5 "$out/chromium.log"; echo "check-report: chromium --dump-dom failed"; exit 2
fi
if ! timeout 120 "$browser" "${flags[@]}" --window-size=1280,4000 --screenshot="$shot" "file://$html" >>"$out/chromium.log" 2>&1 || [ ! -s "$shot" ]; then
  tail -5 "$out/chromium.log"; echo "check-report: chromium --screenshot failed"; exit 2
fi

# 4. The checks: every picture present and non-empty in the source, decoded in the browser's DOM,
#    and a screenshot that is not blank.
"$py" - "$html" "$dom" "$shot" "$require_all" <<'PY'
import html.parser, os, struct, sys, zlib
src_path, dom_path, shot_path, require_all = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
base = os.path.dirname(src_path)

class Figures(html.parser.HTMLParser):
    """Collects <figure class=picture> with the <img>/<svg> inside and the drawing elements of each svg."""
    def __init__(self):
        super().__init__(); self.figs = []; self.cur = None; self.svg_depth = 0; self.body = {}
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body": self.body = a
        if tag == "figure" and "picture" in (a.get("class") or "").split():
            self.cur = {"id": a.get("data-picture"), "missing": a.get("data-missing"), "imgs": [], "svgs": []}
            self.figs.append(self.cur)
        elif self.cur is not None and tag == "img":
            self.cur["imgs"].append(a)
        elif self.cur is not None and tag == "svg":
            self.svg_depth += 1; self.cur["svgs"].append({"attrs": a, "shapes": 0})
        elif self.svg_depth and tag in ("rect", "line", "polyline", "circle", "path", "polygon", "text"):
            self.cur["svgs"][-1]["shapes"] += 1
    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
    def handle_endtag(self, tag):
        if tag == "svg" and self.svg_depth: self.svg_depth -= 1
        if tag == "figure": self.cur = None

def parse(path):
    p = Figures(); p.feed(open(path, encoding="utf-8").read()); return p

def png_info(path):
    with open(path, "rb") as f: data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n": return None
    w, h = struct.unpack(">II", data[16:24]); return w, h, len(data)

def png_pixels(path):
    """Decodes an 8-bit RGB/RGBA PNG (what chromium writes) to rows of bytes."""
    data = open(path, "rb").read(); pos = 8; idat = b""; w = h = ctype = 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8]); body = data[pos + 8:pos + 8 + n]; pos += 12 + n
        if kind == b"IHDR": w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT": idat += body
    bpp = {2: 3, 6: 4}[ctype]; raw = zlib.decompress(idat); stride = w * bpp; rows = []; prev = bytearray(stride); i = 0
    for _ in range(h):
        ft = raw[i]; line = bytearray(raw[i + 1:i + 1 + stride]); i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0; b = prev[x]; c = prev[x - bpp] if x >= bpp else 0
            if ft == 1: line[x] = (line[x] + a) & 255
            elif ft == 2: line[x] = (line[x] + b) & 255
            elif ft == 3: line[x] = (line[x] + (a + b) // 2) & 255
            elif ft == 4:
                p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line)); prev = line
    return w, h, bpp, rows

errors = []; notes = []
src = parse(src_path); dom = parse(dom_path)
if not src.figs: errors.append("the report has no <figure class=picture> at all")
dom_by_id = {f["id"]: f for f in dom.figs}
checked = []
for f in src.figs:
    fid = f["id"]
    if f["missing"] is not None:
        (errors if require_all else notes).append(f"{fid}: not made: {f['missing']}")
        continue
    if not f["imgs"] and not f["svgs"]:
        errors.append(f"{fid}: figure has neither <img> nor <svg>"); continue
    for img in f["imgs"]:
        rel = img.get("src") or ""
        path = os.path.join(base, rel)
        if not rel or not os.path.isfile(path): errors.append(f"{fid}: image file missing: {rel!r}"); continue
        info = png_info(path)
        if info is None or info[0] == 0 or info[1] == 0 or info[2] < 100:
            errors.append(f"{fid}: {rel} is not a valid non-empty PNG"); continue
        checked.append(f"{fid} (png {info[0]}x{info[1]}, {info[2]} B)")
    for svg in f["svgs"]:
        if svg["shapes"] < 3: errors.append(f"{fid}: inline <svg> is empty ({svg['shapes']} shapes)"); continue
        checked.append(f"{fid} (svg, {svg['shapes']} shapes)")
    d = dom_by_id.get(fid)
    if d is None: errors.append(f"{fid}: not in the browser's DOM"); continue
    for img in d["imgs"]:
        state = img.get("data-loaded")
        if state != "ok": errors.append(f"{fid}: the browser did not decode {img.get('src')} (data-loaded={state})")
    if len(d["svgs"]) != len(f["svgs"]): errors.append(f"{fid}: the browser's DOM lost an <svg>")
if dom.body.get("data-images-broken") not in ("0", None) or "data-images-ok" not in dom.body:
    errors.append(f"page script: images ok={dom.body.get('data-images-ok')} broken={dom.body.get('data-images-broken')} (load event not seen?)")

w, h, bpp, rows = png_pixels(shot_path)
step = max(1, h // 400)
seen = set(); nonwhite = 0; total = 0
for y in range(0, h, step):
    r = rows[y]
    for x in range(0, w * bpp, bpp * 4):
        px = r[x:x + 3]; seen.add(px); total += 1
        if px != b"\xff\xff\xff": nonwhite += 1
frac = nonwhite / max(1, total)
if len(seen) < 16 or frac < 0.01:
    errors.append(f"screenshot {shot_path} looks blank: {len(seen)} colours, {frac:.1%} non-white")

print(f"check-report: {len(checked)} pictures render:")
for c in checked: print(f"  ok  {c}")
for n in notes: print(f"  --  {n}")
print(f"check-report: screenshot {w}x{h}, {len(seen)} colours sampled, {frac:.1%} non-white: {shot_path}")
for e in errors: print(f"  FAIL {e}")
if errors:
    print(f"check-report: FAILED ({len(errors)} problems)"); sys.exit(1)
print("check-report: passed" + (f" ({len(notes)} pictures not made by this build)" if notes else ""))
PY
