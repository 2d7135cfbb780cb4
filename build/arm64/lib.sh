# Shared helpers of the arm64 scripts (sourced, not run).

# fetch_debs DIR NAME:ARCH... : downloads each package's current .deb into DIR unless a .deb of
# that package is already cached there (reruns stay offline). A 404 means the local package index
# names a version the mirror has dropped (security updates replace kernels and libraries): refresh
# the index once and retry, and say so, instead of failing with apt's bare "404 Not Found".
fetch_debs() {
  mkdir -p "$1"
  local dir; dir=$(cd "$1" && pwd); shift
  local spec name arch
  for spec in "$@"; do
    name=${spec%%:*}; arch=${spec#*:}; [ "$arch" = "$spec" ] && arch=$(dpkg --print-architecture)
    if compgen -G "$dir/${name}_*_${arch}.deb" >/dev/null || compgen -G "$dir/${name}_*_all.deb" >/dev/null; then
      continue
    fi
    if ! (cd "$dir" && apt-get download -q "$spec" >/dev/null 2>"$dir/.apt-err"); then
      echo "fetch_debs: $spec: $(tail -1 "$dir/.apt-err")" >&2
      echo "fetch_debs: the mirror no longer has the version the local index names ($(apt-cache policy "$spec" | awk '/Candidate/{print $2}')); running apt-get update and retrying" >&2
      apt-get -q -o DPkg::Lock::Timeout=900 update >/dev/null
      if ! (cd "$dir" && apt-get download -q "$spec" >/dev/null 2>"$dir/.apt-err"); then
        echo "fetch_debs: ERROR: cannot download $spec even after apt-get update: $(tail -1 "$dir/.apt-err")" >&2
        return 1
      fi
    fi
  done
  rm -f "$dir/.apt-err"
}

# unpack_debs ROOT DEB... : dpkg -x each .deb into ROOT (never into /).
unpack_debs() {
  local root=$1; shift
  mkdir -p "$root"
  local d
  for d in "$@"; do dpkg -x "$d" "$root"; done
}

# Timing: `t0=$(now)` ... `elapsed $t0` prints seconds with one decimal.
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }
