#!/usr/bin/env bash
# Packs a build's CUDA tests (the binaries behind ctest label `gpu`) and GPU benchmarks (bench/
# programs that load libcudart) with the shared libraries they load, from ldd, into one folder
# that runs on a machine with an NVIDIA driver and nothing else installed: OUT_DIR/run.sh runs each
# test binary, then each benchmark. docs/perf.md says how to carry it to a GPU machine.
#
# Usage: tools/pack_gpu_tests.sh [--cuda-libs=bundle|system] [--keep-debug] BUILD_DIR OUT_DIR
#   --cuda-libs=bundle  (default) copy the CUDA toolkit's libraries too; cuBLAS alone is ~600 MB.
#   --cuda-libs=system  leave the toolkit's libraries out (the folder is then ~50 MB, under the
#                       device tool's 64 MiB carry limit); run.sh finds them on the target in
#                       EGMLA_CUDA_LIB_DIRS, /usr/local/cuda or pip's nvidia-* wheels.
#   --keep-debug        keep the binaries' debug info (default: strip --strip-debug the copies).
#
# Left out always: glibc's own libraries (the loader, libc, libm, libpthread, libdl, librt, ...:
# they come as one set with the target's loader) and the NVIDIA driver's (libcuda.so*,
# libnvidia-*: they must match the target's kernel module). Everything else is copied, libstdc++
# and libgcc_s included, since the target's may be older than the build's. The target's glibc
# must be at least the build machine's (MANIFEST.txt records it).
set -euo pipefail

usage() {
  sed -n '7,12p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

cuda_libs=bundle
keep_debug=0
positional=()
for arg in "$@"; do
  case "$arg" in
    --cuda-libs=bundle | --cuda-libs=system) cuda_libs="${arg#--cuda-libs=}" ;;
    --keep-debug) keep_debug=1 ;;
    -h | --help) usage ;;
    -*) echo "pack_gpu_tests: unknown option $arg" >&2; usage ;;
    *) positional+=("$arg") ;;
  esac
done
[[ ${#positional[@]} -eq 2 ]] || usage
build_dir="$(cd "${positional[0]}" && pwd)"
out_dir="${positional[1]}"

if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  echo "pack_gpu_tests: $build_dir is not a CMake build" >&2
  exit 1
fi
if ! grep -q '^EGMLA_CUDA:BOOL=ON' "$build_dir/CMakeCache.txt"; then
  echo "pack_gpu_tests: $build_dir was configured with EGMLA_CUDA=OFF; nothing to pack" >&2
  exit 1
fi

# The CUDA toolkit's root, to tell its libraries apart in --cuda-libs=system.
nvcc="$(sed -n 's/^EGMLA_NVCC:[A-Z]*=//p' "$build_dir/CMakeCache.txt")"
[[ -x "$nvcc" ]] || nvcc="$(command -v nvcc || true)"
if [[ ! -x "$nvcc" ]]; then
  echo "pack_gpu_tests: cannot find the nvcc that $build_dir used (EGMLA_NVCC)" >&2
  exit 1
fi
cuda_root="$(readlink -f "$(dirname "$nvcc")/..")"

# --- What to pack -------------------------------------------------------------------------
mapfile -t tests < <(ctest --test-dir "$build_dir" -L gpu --show-only=json-v1 | python3 -c '
import json, sys
seen = []
for test in json.load(sys.stdin).get("tests", []):
    command = test.get("command") or []
    if command and command[0] not in seen:
        seen.append(command[0])
print("\n".join(seen))')
benches=()
for f in "$build_dir"/bench/*; do
  if [[ -f "$f" && -x "$f" ]] && ldd "$f" 2>/dev/null | grep -q 'libcudart\.so'; then
    benches+=("$f")
  fi
done
if [[ ${#tests[@]} -eq 0 || -z "${tests[0]}" ]]; then
  echo "pack_gpu_tests: no tests labelled gpu in $build_dir (build them first)" >&2
  exit 1
fi
for f in "${tests[@]}" "${benches[@]}"; do
  [[ -x "$f" ]] || { echo "pack_gpu_tests: $f is not built" >&2; exit 1; }
done

# --- Libraries ----------------------------------------------------------------------------
is_glibc() {
  [[ "$1" =~ ^(ld-linux.*|libc|libm|libmvec|libpthread|libdl|librt|libresolv|libutil|libanl|libnsl|libBrokenLocale|libthread_db|libc_malloc_debug)\.so ]]
}
is_driver() { [[ "$1" =~ ^(libcuda\.so|libnvidia-|libcudadebugger\.so) ]]; }

declare -A lib_path=()   # soname -> path on this machine, for every library to copy
declare -A system_cuda=() # soname -> path, for toolkit libraries left to the target
missing=()
for bin in "${tests[@]}" "${benches[@]}"; do
  while read -r name arrow path _; do
    [[ "$arrow" == "=>" ]] || continue  # the vDSO and the loader itself
    if [[ "$path" == "not" ]]; then missing+=("$name (needed by $(basename "$bin"))"); continue; fi
    if is_glibc "$name" || is_driver "$name"; then continue; fi
    real="$(readlink -f "$path")"
    if [[ "$cuda_libs" == system && "$real" == "$cuda_root"/* ]]; then
      system_cuda["$name"]="$path"
    else
      lib_path["$name"]="$path"
    fi
  done < <(ldd "$bin")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  printf 'pack_gpu_tests: ldd cannot find %s\n' "${missing[@]}" >&2
  exit 1
fi

# --- The folder ---------------------------------------------------------------------------
if [[ -e "$out_dir" ]]; then
  if grep -qs '^packed by tools/pack_gpu_tests.sh' "$out_dir/MANIFEST.txt"; then
    rm -rf "$out_dir"  # an earlier pack: replace it
  elif [[ -n "$(ls -A "$out_dir")" ]]; then
    echo "pack_gpu_tests: $out_dir exists and is not an earlier pack; refusing to overwrite" >&2
    exit 1
  fi
fi
mkdir -p "$out_dir/bin" "$out_dir/lib"
out_dir="$(cd "$out_dir" && pwd)"

test_names=()
bench_names=()
for f in "${tests[@]}"; do cp "$f" "$out_dir/bin/"; test_names+=("$(basename "$f")"); done
for f in "${benches[@]}"; do cp "$f" "$out_dir/bin/"; bench_names+=("$(basename "$f")"); done
if [[ $keep_debug -eq 0 ]]; then
  for f in "${test_names[@]}" "${bench_names[@]}"; do strip --strip-debug "$out_dir/bin/$f"; done
fi
for name in "${!lib_path[@]}"; do cp -L "${lib_path[$name]}" "$out_dir/lib/$name"; done
# The golden checkpoints that ctest's golden_data fixture wrote, for golden_cuda_test (the target
# need not have torch); without them that test skips.
if [[ -f "$build_dir/tests/golden/data/variants.json" ]]; then
  cp -r "$build_dir/tests/golden/data" "$out_dir/golden"
fi
# What decode_attention_bench reads from the repository: the paper's Base configs and the GPT-2
# tokenizer (for ids of English text).
source_dir="$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build_dir/CMakeCache.txt")"
if [[ -d "$source_dir/configs/paper-base" ]]; then
  mkdir -p "$out_dir/repo/configs" "$out_dir/repo/tests/data/tokenizers"
  cp -r "$source_dir/configs/paper-base" "$out_dir/repo/configs/"
  cp "$source_dir/tests/data/tokenizers/gpt2_tokenizer.json" "$out_dir/repo/tests/data/tokenizers/"
fi

# --- run.sh -------------------------------------------------------------------------------
{
  cat <<'EOF'
#!/usr/bin/env bash
# Runs the packed CUDA tests, then the GPU benchmarks, with this folder's lib/ first on
# LD_LIBRARY_PATH. Generated by tools/pack_gpu_tests.sh; see MANIFEST.txt and docs/perf.md.
# Usage: ./run.sh [--all] [--report=FILE] [--memcheck] [--tests-only | --bench-only]
#                 [extra gtest flags...]
#   --all          the whole device check in one call: every test, every benchmark, then every
#                  test again under compute-sanitizer memcheck where the machine has it
#   --report=FILE  also write everything printed to FILE (with --all: report.txt by default)
#   --memcheck     each test binary under compute-sanitizer memcheck (benchmarks are not run)
# Exit status 0 when every program exited 0.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
EOF
  printf 'tests=(%s)\n' "${test_names[*]}"
  printf 'benches=(%s)\n' "${bench_names[*]}"
  printf 'system_cuda_libs=(%s)\n' "${!system_cuda[*]}"
  cat <<'EOF'

memcheck=0; run_tests=1; run_benches=1; all=0; report=""; gtest_args=()
for arg in "$@"; do
  case "$arg" in
    --all) all=1 ;;
    --report=*) report="${arg#--report=}" ;;
    --memcheck) memcheck=1; run_benches=0 ;;
    --tests-only) run_benches=0 ;;
    --bench-only) run_tests=0 ;;
    *) gtest_args+=("$arg") ;;
  esac
done
if [[ $all -eq 1 && -z "$report" ]]; then report="$here/report.txt"; fi
if [[ -n "$report" ]]; then
  exec > >(tee "$report") 2>&1
  echo "run.sh $* on $(hostname) at $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total \
    --format=csv,noheader
fi

# Packed with --cuda-libs=system: find the CUDA toolkit's libraries on this machine.
libpath="$here/lib"
if [[ ${#system_cuda_libs[@]} -gt 0 ]]; then
  candidates=()
  IFS=: read -r -a candidates <<<"${EGMLA_CUDA_LIB_DIRS:-}"
  candidates+=(/usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib
               /usr/lib/x86_64-linux-gnu)
  if command -v python3 >/dev/null; then
    while read -r site; do
      for d in "$site"/nvidia/*/lib "$site"/nvidia/*/*/lib; do [[ -d "$d" ]] && candidates+=("$d"); done
    done < <(python3 -c 'import site; print("\n".join(site.getsitepackages()))' 2>/dev/null)
  fi
  for lib in "${system_cuda_libs[@]}"; do
    found=""
    for d in "${candidates[@]}"; do
      if [[ -n "$d" && -e "$d/$lib" ]]; then found="$d"; break; fi
    done
    if [[ -z "$found" ]]; then
      echo "run.sh: $lib not found (packed with --cuda-libs=system); set EGMLA_CUDA_LIB_DIRS" >&2
      exit 1
    fi
    [[ ":$libpath:" == *":$found:"* ]] || libpath="$libpath:$found"
  done
fi
export LD_LIBRARY_PATH="$libpath${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "run.sh: LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
if [[ -d "$here/golden" ]]; then export EGMLA_GOLDEN_DIR="$here/golden"; fi
if [[ -d "$here/repo" ]]; then export EGMLA_BENCH_REPO="$here/repo"; fi

cs="$(command -v compute-sanitizer || true)"
[[ -n "$cs" ]] || cs=/usr/local/cuda/bin/compute-sanitizer
sanitizer=()
if [[ $memcheck -eq 1 ]]; then
  [[ -x "$cs" ]] || { echo "run.sh: compute-sanitizer not found" >&2; exit 1; }
  # API errors are not counted: the error-path tests make failing calls on purpose.
  sanitizer=("$cs" --tool memcheck --report-api-errors no --error-exitcode 99)
fi

failed=()
if [[ $run_tests -eq 1 ]]; then
  for t in "${tests[@]}"; do
    echo "=== $t"
    "${sanitizer[@]}" "$here/bin/$t" "${gtest_args[@]}" || failed+=("$t")
  done
fi
if [[ $run_benches -eq 1 ]]; then
  for b in "${benches[@]}"; do
    echo "=== $b"
    "$here/bin/$b" || failed+=("$b")
  done
fi
if [[ $all -eq 1 ]]; then
  if [[ -x "$cs" ]]; then
    for t in "${tests[@]}"; do
      echo "=== memcheck $t"
      "$cs" --tool memcheck --report-api-errors no --error-exitcode 99 "$here/bin/$t" \
        "${gtest_args[@]}" || failed+=("memcheck $t")
    done
  else
    echo "run.sh: compute-sanitizer not found: the memcheck pass is skipped"
  fi
fi
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "run.sh: FAILED: ${failed[*]}"
  exit 1
fi
echo "run.sh: all passed (skipped tests say why above)"
EOF
} >"$out_dir/run.sh"
chmod +x "$out_dir/run.sh"

# --- MANIFEST.txt and a check that the folder resolves on its own ---------------------------
{
  echo "packed by tools/pack_gpu_tests.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "source: $(git -C "$(dirname "$0")/.." rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    "(uncommitted changes are not recorded)"
  echo "build: $build_dir"
  echo "cuda toolkit: $cuda_root; --cuda-libs=$cuda_libs"
  echo "build glibc: $(getconf GNU_LIBC_VERSION) (the target needs this or newer)"
  echo "tests: ${test_names[*]}"
  echo "benchmarks: ${bench_names[*]}"
  echo "bundled libraries (from this machine):"
  for name in $(printf '%s\n' "${!lib_path[@]}" | sort); do
    echo "  $name <- ${lib_path[$name]}"
  done
  if [[ ${#system_cuda[@]} -gt 0 ]]; then
    echo "left to the target (run.sh finds them):"
    for name in $(printf '%s\n' "${!system_cuda[@]}" | sort); do echo "  $name"; done
  fi
} >"$out_dir/MANIFEST.txt"

unresolved=()
for f in "$out_dir"/bin/*; do
  while read -r name arrow path _; do
    [[ "$arrow" == "=>" ]] || continue
    if is_glibc "$name" || is_driver "$name" || [[ -n "${system_cuda[$name]:-}" ]]; then continue; fi
    [[ "$path" == "$out_dir/lib/"* ]] || unresolved+=("$(basename "$f"): $name => $path")
  done < <(env LD_LIBRARY_PATH="$out_dir/lib" ldd "$f")
done
if [[ ${#unresolved[@]} -gt 0 ]]; then
  printf 'pack_gpu_tests: resolves outside the folder: %s\n' "${unresolved[@]}" >&2
  exit 1
fi

echo "packed into $out_dir ($(du -sh "$out_dir" | cut -f1)):"
echo "  tests:      ${test_names[*]}"
echo "  benchmarks: ${bench_names[*]}"
echo "  libraries:  ${#lib_path[@]} bundled in lib/"
if [[ ${#system_cuda[@]} -gt 0 ]]; then echo "  left to the target: ${!system_cuda[*]}"; fi
echo "run there:  $out_dir/run.sh --all   (tests, benchmarks, memcheck; writes report.txt)"
