#!/usr/bin/env bash
# Stage 2 of the image build: the wheelhouse for the image's venv, all aarch64, no compiler in the image.
#
#   image/wheels.sh SOURCE_DIR ROOTFS OUT_DIR
#
# 1. resolves the app's runtime dependencies on the host (pinned by constraints.txt, plus
#    requirements-image.txt) with the host's Python of the same minor version as the image;
# 2. downloads each as a manylinux aarch64 (or pure) wheel from the package index;
# 3. cross-compiles the ones published only as source (CROSS_BUILD) with Debian's aarch64-linux-gnu-gcc,
#    the image's own sysconfigdata and pyconfig.h (seconds, where compiling under qemu-user needs a
#    7-minute toolchain rootfs);
# 4. writes OUT_DIR/requirements.txt (the exact set) and the pip wheel used to install it.
# build.sh caches OUT_DIR by a hash of its inputs.
{  # parsed whole before it runs: editing this file during a build cannot change the build
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${1:?usage: wheels.sh SOURCE_DIR ROOTFS OUT_DIR}
rootfs=${2:?}
out=${3:?}
CROSS_BUILD=(evdev)  # no aarch64 wheel on PyPI

pyver=$(readlink "$rootfs/usr/bin/python3")  # python3.11
pyver=${pyver#python}
abi=cp${pyver/./}
hostpy=$(command -v "python$pyver" || true)
[ -n "$hostpy" ] || { echo "wheels.sh: the image has Python $pyver; the host needs python$pyver to build for it" >&2; exit 1; }
sysconfig=$(cd "$rootfs/usr/lib/python$pyver" && ls _sysconfigdata__*-linux-gnu.py | grep -v _linux_ | head -1)
sysconfig=${sysconfig%.py}
multiarch=${sysconfig#_sysconfigdata__}          # aarch64-linux-gnu
machine=${multiarch%%-*}                          # aarch64
cross=1
[ "$multiarch" != "$("$hostpy" -c 'import sysconfig; print(sysconfig.get_config_var("MULTIARCH"))')" ] || cross=0
pyconfig=$rootfs/usr/include/$multiarch/python$pyver/pyconfig.h
if [ "$cross" = 1 ] && [ ! -f "$pyconfig" ]; then
    echo "wheels.sh: $pyconfig missing (image/base.sh fetches it)" >&2; exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

"$hostpy" -m venv "$work/venv"
pip=("$work/venv/bin/python" -m pip --disable-pip-version-check -q)
"${pip[@]}" install -r "$here/build-requirements.txt"

# 1. the exact set, resolved like `pip install -c constraints.txt` would on the terminal
"${pip[@]}" install --dry-run --ignore-installed --report "$work/report.json" \
    -c "$src/constraints.txt" -r "$here/requirements-image.txt" "$src"
"$work/venv/bin/python" - "$work/report.json" "$src" > "$work/pins.txt" <<'PY'
import json, sys
from pathlib import Path
report = json.loads(Path(sys.argv[1]).read_text())
own = Path(sys.argv[2]).resolve().as_uri()
for item in report["install"]:
    if item.get("download_info", {}).get("url", "").rstrip("/") == own.rstrip("/"):
        continue  # the app itself: built fresh by build.sh
    meta = item["metadata"]
    print(f"{meta['name']}=={meta['version']}")
PY
cross_re=$(IFS='|'; echo "^(${CROSS_BUILD[*]})==")
grep -Eiv "$cross_re" "$work/pins.txt" > "$work/binary.txt" || true
grep -Ei "$cross_re" "$work/pins.txt" > "$work/source.txt" || true

# 2. binary wheels for the image's machine (glibc 2.36 in bookworm: manylinux up to 2_36)
platforms=()
for minor in $(seq 17 36); do platforms+=(--platform "manylinux_2_${minor}_$machine"); done
"${pip[@]}" download --no-deps --only-binary=:all: "${platforms[@]}" --platform "manylinux2014_$machine" \
    --python-version "$pyver" --implementation cp --abi "$abi" --abi abi3 --abi none \
    -d "$out" -r "$work/binary.txt"

# 3. wheels built from source: cross-compiled for the Pi, natively for the ci variant
if [ "$cross" = 1 ]; then
    mkdir -p "$work/sysconfig" "$work/include/$multiarch/python$pyver"
    cp "$rootfs/usr/lib/python$pyver/$sysconfig.py" "$work/sysconfig/"
    cp "$pyconfig" "$work/include/$multiarch/python$pyver/"
    target_env=(_PYTHON_HOST_PLATFORM=linux-$machine _PYTHON_SYSCONFIGDATA_NAME=$sysconfig
                PYTHONPATH=$work/sysconfig CPATH=$work/include)
    headers=/usr/$multiarch/include/linux
else
    target_env=()
    headers=/usr/include/linux
fi
while read -r pin; do
    [ -n "$pin" ] || continue
    "${pip[@]}" download --no-deps --no-binary=:all: -d "$work/sdist" "$pin"
    rm -rf "$work/tree" && mkdir "$work/tree"
    tar -xzf "$work"/sdist/*.tar.gz -C "$work/tree" --strip-components=1
    rm -f "$work"/sdist/*.tar.gz
    if [ -f "$work/tree/src/evdev/genecodes_c.py" ]; then
        # evdev generates ecodes.c from whatever input headers it finds (the host's, newer than the
        # cross toolchain's); generate it from the headers the cross compiler will use instead
        h=$headers
        (cd "$work/tree" && "$work/venv/bin/python" src/evdev/genecodes_c.py --reproducible \
            --ecodes "$h/input.h" "$h/input-event-codes.h" "$h/uinput.h" > src/evdev/ecodes.c)
    fi
    env "${target_env[@]}" "${pip[@]}" wheel --no-build-isolation --no-deps -w "$out" "$work/tree"
done < "$work/source.txt"

# 4. what to install, and the installer
cat "$work/binary.txt" "$work/source.txt" > "$out/requirements.txt"
extra=0
if ! grep -qi '^pip==' "$out/requirements.txt"; then  # sqlite-utils depends on pip, so usually it is there
    "${pip[@]}" download --no-deps -d "$out" "$(grep '^pip==' "$here/build-requirements.txt")"
    extra=1
fi
n=$(ls "$out"/*.whl | wc -l)
[ "$n" -eq $(( $(wc -l < "$out/requirements.txt") + extra )) ] ||
    { echo "wheels.sh: expected one wheel per requirement, got $n" >&2; ls "$out" >&2; exit 1; }
exit
}
