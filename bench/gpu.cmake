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
