#!/usr/bin/env bash
# Builds the buildroot-versatile test product offline: a real Buildroot 2022.11.3 output (ARM926
# versatilepb, internal uClibc-ng 1.0.42 toolchain with gcc 12.2.0, Linux 3.10.108 with the lab's
# 3.10 patches, busybox, cpio rootfs) for `reprolab import-buildroot` to read.
#
#   tests/products/buildroot-versatile/build.sh [options] BUILDROOT_DIR SOURCES_DIR [OUT_DIR]
#
#   BUILDROOT_DIR  an extracted Buildroot 2022.11.3 tree (it is only read; O= is OUT_DIR/output)
#   SOURCES_DIR    a folder holding every file sources.json names (see SOURCES.md for where each
#                  comes from); each is checked against its sha256 before use
#   OUT_DIR        default: ${REPROLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/reprolab}/products/buildroot-versatile
#
#   --install-deps   apt-get update && apt-get install -y the host packages the build needs (root)
#   --jobs N         BR2_JLEVEL (default: the number of cores)
#   --prepare-only   check inputs, prepare the trees, configure and check that nothing would be
#                    downloaded; do not build
#
# Re-running continues where the last run stopped (the prepared trees carry a stamp of their
# inputs; Buildroot keeps its own stamps in OUT_DIR/output). Progress is Buildroot's ">>>" lines;
# the full log is OUT_DIR/build.log. Exit 0 built, 1 the build failed, 2 an input is missing or
# wrong (the message says which and where to put it).
#
# Nothing here downloads: Buildroot's only download site is an empty local folder
# (BR2_PRIMARY_SITE_ONLY), `make external-deps` must be satisfied by the download folder this
# script fills and by the override trees, and `make source` must pass before the build starts.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
prog=${0##*/}

# Host packages (Debian 12) the build uses: Buildroot's own host requirements, the autotools that
# prepare the kmod, patchelf and fakeroot trees (git snapshots without configure), po4a for
# fakeroot's bootstrap, and node to read sources.json.
APT_PACKAGES=(build-essential make gcc g++ patch perl rsync bc cpio unzip file wget tar xz-utils
  bzip2 gzip findutils sed gawk diffutils python3 autoconf automake libtool autopoint gettext
  pkg-config po4a bison flex texinfo libncurses-dev nodejs)

# whether $1 is one of the other arguments (no pipe into grep -q: under pipefail its early exit can read as no match)
in_list() { local x=$1 y; shift; for y in "$@"; do [[ $y == "$x" ]] && return 0; done; return 1; }
die() { printf '%s: %s\n' "$prog" "$1" >&2; exit "${2:-1}"; }
usage() { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; }

install_deps=0 prepare_only=0 jobs=$(nproc)
args=()
while (($#)); do
  case $1 in
    --install-deps) install_deps=1 ;;
    --prepare-only) prepare_only=1 ;;
    --jobs) [[ $# -ge 2 && $2 =~ ^[1-9][0-9]*$ ]] || die "--jobs takes a positive number" 2; jobs=$2; shift ;;
    --jobs=*) jobs=${1#--jobs=}; [[ $jobs =~ ^[1-9][0-9]*$ ]] || die "--jobs takes a positive number" 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) die "unknown option $1 (see --help)" 2 ;;
    *) args+=("$1") ;;
  esac
  shift
done
((${#args[@]} >= 2 && ${#args[@]} <= 3)) || { usage >&2; exit 2; }
br_arg=${args[0]} src_arg=${args[1]}
out=${args[2]:-${REPROLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/reprolab}/products/buildroot-versatile}

if ((install_deps)); then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${APT_PACKAGES[@]}"
fi

# ---- host tools -------------------------------------------------------------------------------
missing_tools=()
for t in make gcc g++ patch perl rsync bc cpio unzip file wget tar xz bzip2 gzip awk python3 \
  autoreconf automake libtoolize autopoint msgfmt pkg-config po4a bison flex makeinfo node sha256sum; do
  command -v "$t" >/dev/null || missing_tools+=("$t")
done
if ((${#missing_tools[@]})); then
  die "missing host tools: ${missing_tools[*]}
  install them with: $0 --install-deps …   (or: apt-get update && apt-get install -y ${APT_PACKAGES[*]})" 2
fi

# ---- inputs -----------------------------------------------------------------------------------
[[ -d $br_arg ]] || die "no Buildroot tree at $br_arg: extract Buildroot 2022.11.3 there (SOURCES.md, 'Buildroot')" 2
[[ -d $src_arg ]] || die "no sources folder at $src_arg: put the files of sources.json there (SOURCES.md)" 2
br=$(cd "$br_arg" && pwd)
srcdir=$(cd "$src_arg" && pwd)
br_version=$(sed -n 's/^export BR2_VERSION := //p' "$br/Makefile" 2>/dev/null || true)
want_br=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).buildroot.version)' "$here/sources.json")
[[ $br_version == "$want_br" ]] || die "$br is not a Buildroot $want_br tree (its Makefile says BR2_VERSION '${br_version:-none}'); see SOURCES.md, 'Buildroot'" 2

# sources.json as tab-separated lines: name use file sha256 member dl vars patches prepare from get
manifest=$(node -e '
  const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  for (const t of m.trees) {
    const f = [t.name, t.use, t.file, t.sha256, t.member ?? "-", t.dl ?? "-", (t.vars ?? []).join(",") || "-",
      (t.patches ?? []).join(",") || "-", t.prepare ?? "-", t.from, t.get];
    if (f.some((x) => typeof x !== "string" || x === "" || /[\t\n]/.test(x))) throw new Error("sources.json: bad entry " + t.name);
    console.log(f.join("\t"));
  }' "$here/sources.json")

problems=()
while IFS=$'\t' read -r name use file sha member dl vars patches prepare from get; do
  if [[ ! -f $srcdir/$file ]]; then
    problems+=("$name: missing $srcdir/$file
      from: $from
      get:  $get   (then put $file in $srcdir)")
  fi
done <<<"$manifest"
if ((${#problems[@]})); then
  printf '%s: %d input(s) missing; nothing was built:\n' "$prog" "${#problems[@]}" >&2
  printf '  %s\n' "${problems[@]}" >&2
  exit 2
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
log=$out/build.log
overrides=$out/overrides dl_dir=$out/dl offline_site=$out/offline-site
mkdir -p "$overrides" "$dl_dir" "$offline_site"
note() { printf '[%s] %s\n' "$(date +%T)" "$*" | tee -a "$log"; }
note "buildroot-versatile: Buildroot $br_version at $br, sources $srcdir, output $out"

# A digest is checked once per file content: the check is remembered by size and mtime.
checked=$out/.checked-sha256
touch "$checked"
verify() { # file sha
  local f=$1 want=$2 id got
  id="$(stat -c '%s %Y' "$f") $f"
  if grep -qxF "$want $id" "$checked"; then return 0; fi
  got=$(sha256sum "$f" | cut -d' ' -f1)
  [[ $got == "$want" ]] || die "$f has sha256 $got, sources.json wants $want (a different version? see SOURCES.md)" 2
  printf '%s %s\n' "$want" "$id" >>"$checked"
}

patch_path() { # spec -> absolute path pattern
  case $1 in
    br:*) printf '%s/%s' "$br" "${1#br:}" ;;
    lab:*) printf '%s/%s' "$repo" "${1#lab:}" ;;
    product:*) printf '%s/%s' "$here" "${1#product:}" ;;
    *) die "sources.json: patch '$1' needs a br:, lab: or product: prefix" ;;
  esac
}

expand_patches() { # comma list -> one existing file a line
  local spec p matched
  [[ $1 == - ]] && return 0
  IFS=, read -r -a specs <<<"$1"
  for spec in "${specs[@]}"; do
    matched=0
    while IFS= read -r p; do
      [[ -f $p ]] || die "patch $spec not found (looked for $p)" 2
      printf '%s\n' "$p"; matched=1
    done < <(compgen -G "$(patch_path "$spec")" | LC_ALL=C sort || true)
    ((matched)) || die "patch $spec matched no file" 2
  done
}

# Packages to dirclean are written here before the stamp that makes them necessary, and the file goes
# only once every one is clean: a run stopped in between still cleans them next time.
pending=$out/pending-dirclean
mark_dirclean() { printf '%s\n' "$@" >>"$pending"; sync "$pending"; }

# the Buildroot packages built from a tree: BR2's override variables, lower case (linux: also its headers)
packages_of() { # comma list of variables
  local v pkg
  IFS=, read -r -a vs <<<"$1"
  for v in "${vs[@]}"; do
    pkg=$(tr 'A-Z_' 'a-z-' <<<"$v")
    printf '%s\n' "$pkg"
    [[ $pkg == linux ]] && printf 'linux-headers\n'
  done
  return 0
}

prepare_tree() { # name file sha member patches prepare vars
  local name=$1 file=$2 sha=$3 member=$4 patches=$5 prepare=$6 vars=$7 dir key p pkgs
  dir=$overrides/$name
  # the patches' contents, not their paths: the same tree from another checkout of the repo is the same tree
  key=$( { printf '%s %s %s\n' "$sha" "$member" "$prepare"; expand_patches "$patches" | while IFS= read -r p; do sha256sum <"$p"; done; } | sha256sum | cut -d' ' -f1)
  if [[ -f $dir/.reprolab-prepared && $(cat "$dir/.reprolab-prepared") == "$key" ]]; then return 0; fi
  note "preparing $name from $file"
  rm -rf "$dir" "$dir.tmp"
  mkdir -p "$dir.tmp"
  if [[ $member == - ]]; then
    tar -xf "$srcdir/$file" -C "$dir.tmp" --strip-components=1
  else
    tar -xOf "$srcdir/$file" "$member" | tar -xJ -C "$dir.tmp" --strip-components=1
  fi
  while IFS= read -r p; do
    [[ -n $p ]] || continue
    note "  $name: applying ${p#"$br"/}"
    "$br/support/scripts/apply-patches.sh" -s "$dir.tmp" "$(dirname "$p")" "$(basename "$p")" >>"$log" 2>&1 \
      || die "$name: patch $p does not apply (details in $log)"
  done < <(expand_patches "$patches")
  case $prepare in
    -) ;;
    autoreconf) (cd "$dir.tmp" && autoreconf -fi) >>"$log" 2>&1 || die "$name: autoreconf failed (details in $log)" ;;
    # what kmod's autogen.sh does on a host without gtk-doc, without its configure run
    kmod-autogen) (cd "$dir.tmp" && { [[ -f libkmod/docs/gtk-doc.make ]] || : >libkmod/docs/gtk-doc.make; } && autoreconf -fi) >>"$log" 2>&1 \
      || die "$name: autoreconf failed (details in $log)" ;;
    # a release tarball as Debian's fakeroot makes it: ./bootstrap, then the translated man pages
    # (po4a, as debian/rules does), which doc/*/Makefile.am installs
    fakeroot-release) (cd "$dir.tmp" && ./bootstrap && cd doc && po4a -k 0 --rm-backups --variable srcdir=../doc/ po4a/po4a.cfg) >>"$log" 2>&1 \
      || die "$name: ./bootstrap or po4a failed (details in $log)" ;;
    *) die "sources.json: $name: unknown prepare step '$prepare'" ;;
  esac
  printf '%s\n' "$key" >"$dir.tmp/.reprolab-prepared"
  # a tree prepared anew replaces the copy Buildroot rsynced before: its packages must rsync it again
  mapfile -t pkgs < <(packages_of "$vars")
  mark_dirclean "${pkgs[@]}"
  mv "$dir.tmp" "$dir"
}

override_vars=()
while IFS=$'\t' read -r name use file sha member dl vars patches prepare from get; do
  verify "$srcdir/$file" "$sha"
  case $use in
    dl)
      mkdir -p "$dl_dir/$(dirname "$dl")"
      cmp -s "$srcdir/$file" "$dl_dir/$dl" || cp "$srcdir/$file" "$dl_dir/$dl"
      ;;
    override)
      prepare_tree "$name" "$file" "$sha" "$member" "$patches" "$prepare" "$vars"
      IFS=, read -r -a vs <<<"$vars"
      override_vars+=("${vs[@]}")
      ;;
    *) die "sources.json: $name: use must be dl or override" ;;
  esac
done <<<"$manifest"

# ---- the kernel config: allnoconfig + the lab's fragments (later lines win) + olddefconfig -----
kfrags=("$repo/kernels/3.10/boards/common.config" "$repo/kernels/3.10/boards/versatile.config")
kconfig=$out/kernel.config
kkey=$(cat "$overrides/linux/.reprolab-prepared" "${kfrags[@]}" | sha256sum | cut -d' ' -f1)
if [[ ! -f $kconfig.key || $(cat "$kconfig.key") != "$kkey" ]]; then
  note "resolving the kernel config from ${kfrags[*]#"$repo"/}"
  kb=$out/kconfig-build
  rm -rf "$kb"; mkdir -p "$kb"
  make -C "$overrides/linux" O="$kb" ARCH=arm allnoconfig >>"$log" 2>&1 || die "kernel allnoconfig failed (details in $log)"
  settings=$(grep -hE '^CONFIG_[A-Za-z0-9_]+=' "${kfrags[@]}")
  while IFS= read -r line; do
    opt=${line%%=*}
    grep -vE "^(${opt}=|# ${opt} is not set$)" "$kb/.config" >"$kb/.config.new" || true
    if [[ ${line#*=} == n ]]; then printf '# %s is not set\n' "$opt"; else printf '%s\n' "$line"; fi >>"$kb/.config.new"
    mv "$kb/.config.new" "$kb/.config"
  done <<<"$settings"
  make -C "$overrides/linux" O="$kb" ARCH=arm olddefconfig >>"$log" 2>&1 || die "kernel olddefconfig failed (details in $log)"
  # every fragment line must survive (its last value wins), as the lab checks its own kernels
  lost=$(awk -F= '
    FNR == NR { name = $1; val = substr($0, length($1) + 2); want[name] = val; next }
    /^CONFIG_/ { n = $1; have[n] = substr($0, length($1) + 2) }
    END { for (n in want) { v = (n in have) ? have[n] : "n"; if (v != want[n]) print n "=" want[n] " (resolved: " v ")" } }
  ' <(printf '%s\n' "$settings") "$kb/.config")
  [[ -z $lost ]] || die "the kernel config dropped fragment lines (a missing dependency):
$lost"
  # Buildroot does not notice a new kernel config file: the kernel is built again from it
  mark_dirclean linux
  cp "$kb/.config" "$kconfig"
  printf '%s\n' "$kkey" >"$kconfig.key"
fi

# ---- local.mk and the Buildroot config ----------------------------------------------------------
sed_escape() { printf '%s' "$1" | sed 's/[\\|&]/\\&/g'; }
for v in "${override_vars[@]}"; do
  grep -q "^${v}_OVERRIDE_SRCDIR = " "$here/local.mk.in" || die "local.mk.in has no ${v}_OVERRIDE_SRCDIR (sources.json names it)"
done
while read -r v; do
  in_list "$v" "${override_vars[@]}" || die "local.mk.in sets ${v}_OVERRIDE_SRCDIR, which no sources.json tree provides"
done < <(sed -n 's/^\([A-Z0-9_]*\)_OVERRIDE_SRCDIR = .*/\1/p' "$here/local.mk.in")
sed "s|@OVERRIDES@|$(sed_escape "$overrides")|g" "$here/local.mk.in" >"$out/local.mk.new"
if cmp -s "$out/local.mk.new" "$out/local.mk"; then rm "$out/local.mk.new"; else mv "$out/local.mk.new" "$out/local.mk"; fi

sed -e "s|@DL_DIR@|$(sed_escape "$dl_dir")|g" -e "s|@OFFLINE_SITE@|$(sed_escape "$offline_site")|g" \
  -e "s|@LOCAL_MK@|$(sed_escape "$out/local.mk")|g" -e "s|@KERNEL_CONFIG@|$(sed_escape "$kconfig")|g" \
  "$here/defconfig.in" >"$out/defconfig.new"
o=$out/output
bmake() { make --no-print-directory -C "$br" O="$o" BR2_JLEVEL="$jobs" "$@"; }
if [[ ! -f $o/.config ]] || ! cmp -s "$out/defconfig.new" "$out/defconfig"; then
  mv "$out/defconfig.new" "$out/defconfig"
  note "configuring Buildroot (O=$o)"
  # a failed configure must not leave a defconfig that the next run takes as applied
  bmake BR2_DEFCONFIG="$out/defconfig" defconfig >>"$log" 2>&1 || { rm -f "$out/defconfig"; die "make defconfig failed (details in $log)"; }
else
  rm "$out/defconfig.new"
fi
# What a changed tree or kernel config left to clean (this run's or a stopped run's); packages not
# built yet have nothing to clean (an override builds as version "custom").
if [[ -f $pending ]]; then
  while IFS= read -r pkg; do
    [[ -d $o/build/$pkg-custom ]] || continue
    note "$pkg's tree or config changed: make $pkg-dirclean"
    bmake "$pkg-dirclean" >>"$log" 2>&1 || die "make $pkg-dirclean failed (details in $log)"
  done < <(grep -E '^[a-z0-9-]+$' "$pending" | LC_ALL=C sort -u)
  rm "$pending"
fi
# every option the defconfig sets must be in the resolved .config (Kconfig drops what it cannot have)
dropped=$(grep -E '^BR2_[A-Z0-9_]+=' "$out/defconfig" | grep -vxF -f "$o/.config" || true)
dropped+=${dropped:+$'\n'}$(grep -E '^# BR2_[A-Z0-9_]+ is not set' "$out/defconfig" | grep -vxF -f "$o/.config" || true)
[[ -z $dropped ]] || die "Buildroot's .config lost defconfig lines (a dependency not met):
$dropped"

# ---- offline: everything Buildroot would fetch is here already ----------------------------------
note "checking that nothing would be downloaded (make external-deps, make source)"
deps=$(bmake -s external-deps 2>>"$log") || die "make external-deps failed (details in $log)"
missing=()
while IFS= read -r d; do
  [[ -n $d ]] || continue
  case $d in
    file://*) [[ -d ${d#file://} ]] || missing+=("override tree ${d#file://}") ;;
    *) [[ -n $(find "$dl_dir" -name "$d" -type f -print -quit) ]] || missing+=("$d (Buildroot would download it; put it in $dl_dir/<package>/, or add it to sources.json)") ;;
  esac
done <<<"$deps"
if ((${#missing[@]})); then
  printf '%s: Buildroot needs %d archive(s) that are not here; nothing was built:\n' "$prog" "${#missing[@]}" >&2
  printf '  %s\n' "${missing[@]}" >&2
  exit 2
fi
printf '%s\n' "$deps" >"$out/external-deps.txt"
bmake source >>"$log" 2>&1 || die "make source wanted a download (details in $log); check $out/external-deps.txt against sources.json" 2
note "offline check passed: $(grep -c . <<<"$deps") external inputs, $(grep -c '^file://' <<<"$deps") of them override trees"

if ((prepare_only)); then
  note "prepared; build with: $0 $br $srcdir $out"
  exit 0
fi

# ---- build ----------------------------------------------------------------------------------------
start=$(date +%s)
note "building (make -C $br O=$o BR2_JLEVEL=$jobs); full log: $log"
set +e
bmake 2>&1 | tee -a "$log" | while IFS= read -r line; do
  # Buildroot wraps its ">>>" lines in the terminal's standout codes (tput smso): drop them
  case $line in *'>>>'*) line=${line#*'>>>'}; printf '[%s] >>>%s\n' "$(date +%T)" "${line%%$'\e'*}" ;; esac
done
status=${PIPESTATUS[0]}
set -e
elapsed=$(($(date +%s) - start))
if ((status != 0)); then
  tail -n 40 "$log" >&2
  die "the build failed after ${elapsed}s (exit $status); the full log is $log; re-run the same command to continue"
fi
note "built in ${elapsed}s ($((elapsed / 60)) min $((elapsed % 60)) s)"
printf '%s %s %ss\n' "$(date -u +%FT%TZ)" "$(nproc)cores" "$elapsed" >>"$out/build-times.txt"
ls -l "$o/images" | tee -a "$log"
