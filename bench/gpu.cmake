# Included from bench/CMakeLists.txt. gpu_smoke: device-to-device copy GB/s and cuBLAS bf16 GEMM
# TFLOP/s at 8192³ beside the H100 SXM datasheet peaks (docs/perf.md). A plain main that exits 0
# with the reason when there is no GPU.
if(EGMLA_CUDA)
  add_executable(gpu_smoke ${CMAKE_CURRENT_LIST_DIR}/gpu_smoke.cc)
  target_link_libraries(gpu_smoke PRIVATE egmla_kernels_cuda_blas egmla_common CUDA::cudart
                                          CUDA::cublas absl::status absl::statusor)
  target_compile_options(gpu_smoke PRIVATE ${EGMLA_WARNINGS})
  set_target_properties(gpu_smoke PROPERTIES CUDA_RUNTIME_LIBRARY Shared)  # one libcudart
endif()

# The CUDA decode kernels and the whole decode step (issue 18): analytic, kernel and step tables.
if(EGMLA_CUDA)
  add_executable(decode_attention_bench ${CMAKE_CURRENT_LIST_DIR}/decode_attention_bench.cc)
  target_link_libraries(decode_attention_bench PRIVATE egmla_runner_cuda egmla_bench_models
                                                       CUDA::cudart)
  target_compile_options(decode_attention_bench PRIVATE ${EGMLA_WARNINGS})
  target_compile_definitions(decode_attention_bench PRIVATE EGMLA_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  set_target_properties(decode_attention_bench PROPERTIES CUDA_RUNTIME_LIBRARY Shared)
endif()
# On the SIMT emulator: the CI smoke run (tiny sizes; the timings mean nothing).
if(EGMLA_EMU)
  add_executable(decode_attention_bench_emu ${CMAKE_CURRENT_LIST_DIR}/decode_attention_bench.cc)
  target_link_libraries(decode_attention_bench_emu PRIVATE egmla_runner_cuda_emu
                                                           egmla_bench_models)
  target_compile_options(decode_attention_bench_emu PRIVATE ${EGMLA_WARNINGS})
  target_compile_definitions(decode_attention_bench_emu PRIVATE
                             EGMLA_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  add_test(NAME decode_attention_bench_smoke
           COMMAND decode_attention_bench_emu --smoke --iters 1 --repo ${PROJECT_SOURCE_DIR})
  set_tests_properties(decode_attention_bench_smoke PROPERTIES LABELS "emu;bench" TIMEOUT 300)
endif()
