// A host implementation of the cuBLAS calls the device layer makes (kernels/cuda/runtime/
// blas_handle.cc, kernels/cuda/gemm/linear_bf16.cc), defined against the toolkit's own declarations
// (cublas_api.h; cublas_v2.h maps cublasCreate, cublasDestroy, cublasSetStream, cublasGetStream to
// these *_v2 symbols), so that code runs unchanged on the CPU over the emulated runtime
// (runtime.cc).
//
// cublasGemmEx / cublasGemmStridedBatchedEx (and their _64 forms) keep cuBLAS's exact semantics:
// column-major, C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C, lda/ldb/ldc as leading
// dimensions, alpha and beta host floats (the default CUBLAS_POINTER_MODE_HOST), beta == 0 writes
// C without reading it, k == 0 or alpha == 0 only scales C. Compute types: CUBLAS_COMPUTE_32F and
// its _PEDANTIC and _FAST_* forms, all computed the same way: each product in fp32 (exact for
// bf16/f16 inputs), summed in fp32 in k order, then alpha · sum + beta · c, rounded once to C's
// type (round to nearest even). The type combinations are cuBLAS's for 32F compute: A and B both
// CUDA_R_16BF, CUDA_R_16F or CUDA_R_32F; C of the same type or CUDA_R_32F (32F inputs: C 32F only).
// Argument errors are cuBLAS's: an unknown handle → NOT_INITIALIZED; negative sizes or batch count,
// an unknown operation, a leading dimension below max(1, rows), null alpha/beta →
// INVALID_VALUE; other types, compute types or algorithms → NOT_SUPPORTED. A matrix that does not
// lie inside one live cudaMalloc allocation, or a destroyed stream, → EXECUTION_FAILED (a GPU
// would fault), with nothing written. Work runs synchronously on the calling thread.
//
// Other cuBLAS functions are not defined: a call to one fails to link rather than run wrongly.
#include <cublas_api.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "kernels/cuda/emu_runtime/device_memory.h"

// The opaque handle type behind cublasHandle_t, defined here.
struct cublasContext {
  cudaStream_t stream = nullptr;
  cublasMath_t math_mode = CUBLAS_DEFAULT_MATH;
};

namespace egmla::cuda::emu {
namespace {

struct Handles {
  std::mutex mu;
  std::unordered_set<const cublasContext*> live;
};

Handles& GetHandles() {
  static Handles* const handles = new Handles;  // never destroyed, as the runtime's state
  return *handles;
}

bool IsLive(const cublasContext* handle) {
  if (handle == nullptr) return false;
  Handles& handles = GetHandles();
  std::lock_guard<std::mutex> lock(handles.mu);
  return handles.live.contains(handle);
}

size_t ElementSize(cudaDataType type) {
  switch (type) {
    case CUDA_R_16BF:
    case CUDA_R_16F:
      return 2;
    case CUDA_R_32F:
      return 4;
    default:
      return 0;
  }
}

float Load(const void* base, int64_t index, cudaDataType type) {
  switch (type) {
    case CUDA_R_16BF: {
      __nv_bfloat16 v;
      std::memcpy(&v, static_cast<const char*>(base) + index * 2, 2);
      return __bfloat162float(v);
    }
    case CUDA_R_16F: {
      __half v;
      std::memcpy(&v, static_cast<const char*>(base) + index * 2, 2);
      return __half2float(v);
    }
    default: {
      float v;
      std::memcpy(&v, static_cast<const char*>(base) + index * 4, 4);
      return v;
    }
  }
}

void Store(void* base, int64_t index, cudaDataType type, float value) {
  switch (type) {
    case CUDA_R_16BF: {
      const __nv_bfloat16 v = __float2bfloat16_rn(value);
      std::memcpy(static_cast<char*>(base) + index * 2, &v, 2);
      return;
    }
    case CUDA_R_16F: {
      const __half v = __float2half_rn(value);
      std::memcpy(static_cast<char*>(base) + index * 2, &v, 2);
      return;
    }
    default:
      std::memcpy(static_cast<char*>(base) + index * 4, &value, 4);
      return;
  }
}

bool SupportedTypes(cudaDataType a, cudaDataType b, cudaDataType c) {
  if (a != b) return false;
  switch (a) {
    case CUDA_R_16BF:
    case CUDA_R_16F:
      return c == a || c == CUDA_R_32F;
    case CUDA_R_32F:
      return c == CUDA_R_32F;
    default:
      return false;
  }
}

bool SupportedCompute(cublasComputeType_t compute) {
  switch (compute) {
    case CUBLAS_COMPUTE_32F:
    case CUBLAS_COMPUTE_32F_PEDANTIC:
    case CUBLAS_COMPUTE_32F_FAST_16F:
    case CUBLAS_COMPUTE_32F_FAST_16BF:
    case CUBLAS_COMPUTE_32F_FAST_TF32:
      return true;
    default:
      return false;
  }
}

bool KnownAlgo(cublasGemmAlgo_t algo) {
  const int a = static_cast<int>(algo);
  return (a >= CUBLAS_GEMM_DEFAULT && a <= CUBLAS_GEMM_ALGO23) ||
         (a >= CUBLAS_GEMM_DEFAULT_TENSOR_OP && a <= CUBLAS_GEMM_ALGO15_TENSOR_OP);
}

bool KnownOp(cublasOperation_t op) {
  return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C;
}

// Elements spanned by a column-major rows×cols matrix with leading dimension ld; 0 when empty.
int64_t Span(int64_t rows, int64_t cols, int64_t ld) {
  return rows == 0 || cols == 0 ? 0 : (cols - 1) * ld + rows;
}

// Whether batch b of `count` matrices of `span` elements, `stride` apart, lies in device memory.
bool BatchesInDeviceMemory(const void* base, cudaDataType type, int64_t span, int64_t stride,
                           int64_t count) {
  if (span == 0 || count == 0) return true;
  const auto size = static_cast<int64_t>(ElementSize(type));
  for (int64_t b = 0; b < count; ++b) {
    const char* p = static_cast<const char*>(base) + b * stride * size;
    if (!IsDeviceRange(p, static_cast<size_t>(span * size))) return false;
  }
  return true;
}

struct GemmArgs {
  cublasOperation_t transa, transb;
  int64_t m, n, k;
  const void* alpha;
  const void* a;
  cudaDataType a_type;
  int64_t lda, stride_a;
  const void* b;
  cudaDataType b_type;
  int64_t ldb, stride_b;
  const void* beta;
  void* c;
  cudaDataType c_type;
  int64_t ldc, stride_c;
  int64_t batch;
  cublasComputeType_t compute;
  cublasGemmAlgo_t algo;
};

// One product: C = alpha · op(A) · op(B) + beta · C, column-major. op(A) is first unpacked into a
// dense fp32 m×k copy, so the inner loop runs over contiguous rows of C and each C element is
// summed in k order, as a plain triple loop would.
void GemmOne(const GemmArgs& g, const void* a, const void* b, void* c, std::vector<float>& a_op,
             std::vector<float>& acc, float alpha, float beta) {
  const int64_t m = g.m, n = g.n, k = g.k;
  const bool scale_only = k == 0 || alpha == 0.0f;
  if (!scale_only) {
    a_op.resize(static_cast<size_t>(m * k));
    for (int64_t kk = 0; kk < k; ++kk) {
      for (int64_t i = 0; i < m; ++i) {
        const int64_t index = g.transa == CUBLAS_OP_N ? i + kk * g.lda : kk + i * g.lda;
        a_op[static_cast<size_t>(i + kk * m)] = Load(a, index, g.a_type);
      }
    }
  }
  acc.resize(static_cast<size_t>(m));
  for (int64_t j = 0; j < n; ++j) {
    std::fill(acc.begin(), acc.end(), 0.0f);
    if (!scale_only) {
      for (int64_t kk = 0; kk < k; ++kk) {
        const int64_t index = g.transb == CUBLAS_OP_N ? kk + j * g.ldb : j + kk * g.ldb;
        const float bv = Load(b, index, g.b_type);
        const float* column = a_op.data() + kk * m;
        for (int64_t i = 0; i < m; ++i) acc[static_cast<size_t>(i)] += column[i] * bv;
      }
    }
    for (int64_t i = 0; i < m; ++i) {
      const int64_t index = i + j * g.ldc;
      const float sum = scale_only ? 0.0f : alpha * acc[static_cast<size_t>(i)];
      // beta == 0: C is output only, never read (it may hold NaN), as in cuBLAS.
      const float value = beta == 0.0f ? sum : sum + beta * Load(c, index, g.c_type);
      Store(c, index, g.c_type, value);
    }
  }
}

cublasStatus_t Gemm(cublasContext* handle, const GemmArgs& g) {
  if (!IsLive(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (g.m < 0 || g.n < 0 || g.k < 0 || g.batch < 0 || !KnownOp(g.transa) || !KnownOp(g.transb)) {
    return CUBLAS_STATUS_INVALID_VALUE;
  }
  const int64_t a_rows = g.transa == CUBLAS_OP_N ? g.m : g.k;
  const int64_t a_cols = g.transa == CUBLAS_OP_N ? g.k : g.m;
  const int64_t b_rows = g.transb == CUBLAS_OP_N ? g.k : g.n;
  const int64_t b_cols = g.transb == CUBLAS_OP_N ? g.n : g.k;
  if (g.lda < std::max<int64_t>(1, a_rows) || g.ldb < std::max<int64_t>(1, b_rows) ||
      g.ldc < std::max<int64_t>(1, g.m) || g.alpha == nullptr || g.beta == nullptr) {
    return CUBLAS_STATUS_INVALID_VALUE;
  }
  if (!SupportedTypes(g.a_type, g.b_type, g.c_type) || !SupportedCompute(g.compute) ||
      !KnownAlgo(g.algo)) {
    return CUBLAS_STATUS_NOT_SUPPORTED;
  }
  if (g.m == 0 || g.n == 0 || g.batch == 0) return CUBLAS_STATUS_SUCCESS;
  if (!IsValidStream(handle->stream)) return CUBLAS_STATUS_EXECUTION_FAILED;
  float alpha, beta;
  std::memcpy(&alpha, g.alpha, sizeof(float));
  std::memcpy(&beta, g.beta, sizeof(float));
  const bool reads_ab = g.k > 0 && alpha != 0.0f;
  if ((reads_ab &&
       (!BatchesInDeviceMemory(g.a, g.a_type, Span(a_rows, a_cols, g.lda), g.stride_a, g.batch) ||
        !BatchesInDeviceMemory(g.b, g.b_type, Span(b_rows, b_cols, g.ldb), g.stride_b, g.batch))) ||
      !BatchesInDeviceMemory(g.c, g.c_type, Span(g.m, g.n, g.ldc), g.stride_c, g.batch)) {
    return CUBLAS_STATUS_EXECUTION_FAILED;
  }
  std::vector<float> a_op, acc;
  for (int64_t batch = 0; batch < g.batch; ++batch) {
    const void* a = static_cast<const char*>(g.a) +
                    batch * g.stride_a * static_cast<int64_t>(ElementSize(g.a_type));
    const void* b = static_cast<const char*>(g.b) +
                    batch * g.stride_b * static_cast<int64_t>(ElementSize(g.b_type));
    void* c =
        static_cast<char*>(g.c) + batch * g.stride_c * static_cast<int64_t>(ElementSize(g.c_type));
    GemmOne(g, a, b, c, a_op, acc, alpha, beta);
  }
  return CUBLAS_STATUS_SUCCESS;
}

}  // namespace
}  // namespace egmla::cuda::emu

namespace emu = ::egmla::cuda::emu;

extern "C" {

cublasStatus_t CUBLASWINAPI cublasCreate_v2(cublasHandle_t* handle) {
  if (handle == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  if (emu::NoDevice()) return CUBLAS_STATUS_NOT_INITIALIZED;  // as cuBLAS without a GPU
  auto* created = new cublasContext;
  emu::Handles& handles = emu::GetHandles();
  std::lock_guard<std::mutex> lock(handles.mu);
  handles.live.insert(created);
  *handle = created;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t CUBLASWINAPI cublasDestroy_v2(cublasHandle_t handle) {
  emu::Handles& handles = emu::GetHandles();
  std::lock_guard<std::mutex> lock(handles.mu);
  if (handle == nullptr || handles.live.erase(handle) == 0) return CUBLAS_STATUS_NOT_INITIALIZED;
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t CUBLASWINAPI cublasGetVersion_v2(cublasHandle_t handle, int* version) {
  if (!emu::IsLive(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (version == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  *version = CUBLAS_VERSION;
  return CUBLAS_STATUS_SUCCESS;
}

// As cuBLAS, the stream is not checked here; a destroyed one fails the next GEMM.
cublasStatus_t CUBLASWINAPI cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId) {
  if (!emu::IsLive(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->stream = streamId;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t CUBLASWINAPI cublasGetStream_v2(cublasHandle_t handle, cudaStream_t* streamId) {
  if (!emu::IsLive(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (streamId == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  *streamId = handle->stream;
  return CUBLAS_STATUS_SUCCESS;
}

// The mode is kept and reported; every mode computes alike (fp32, no reduced-precision sums).
cublasStatus_t CUBLASWINAPI cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  if (!emu::IsLive(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->math_mode = mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t CUBLASWINAPI cublasGetMathMode(cublasHandle_t handle, cublasMath_t* mode) {
  if (!emu::IsLive(handle)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (mode == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  *mode = handle->math_mode;
  return CUBLAS_STATUS_SUCCESS;
}

const char* CUBLASWINAPI cublasGetStatusName(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS:
      return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED:
      return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH:
      return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR:
      return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR:
      return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR:
      return "CUBLAS_STATUS_LICENSE_ERROR";
  }
  return "CUBLAS_STATUS_UNKNOWN";
}

const char* CUBLASWINAPI cublasGetStatusString(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS:
      return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "the library was not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED:
      return "the resource allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "an invalid numeric value was used as an argument";
    case CUBLAS_STATUS_ARCH_MISMATCH:
      return "an absent device architectural feature is required";
    case CUBLAS_STATUS_MAPPING_ERROR:
      return "an access to GPU memory space failed";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "the GPU program failed to execute";
    case CUBLAS_STATUS_INTERNAL_ERROR:
      return "an internal operation failed";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "the functionality requested is not supported";
    case CUBLAS_STATUS_LICENSE_ERROR:
      return "error detected trying to check the license";
  }
  return "unknown error";
}

cublasStatus_t CUBLASWINAPI cublasGemmEx_64(
    cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int64_t m, int64_t n,
    int64_t k, const void* alpha, const void* A, cudaDataType Atype, int64_t lda, const void* B,
    cudaDataType Btype, int64_t ldb, const void* beta, void* C, cudaDataType Ctype, int64_t ldc,
    cublasComputeType_t computeType, cublasGemmAlgo_t algo) {
  return emu::Gemm(handle, {transa, transb, m, n,    k, alpha, A,   Atype, lda, 0,           B,
                            Btype,  ldb,    0, beta, C, Ctype, ldc, 0,     1,   computeType, algo});
}

cublasStatus_t CUBLASWINAPI cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa,
                                         cublasOperation_t transb, int m, int n, int k,
                                         const void* alpha, const void* A, cudaDataType Atype,
                                         int lda, const void* B, cudaDataType Btype, int ldb,
                                         const void* beta, void* C, cudaDataType Ctype, int ldc,
                                         cublasComputeType_t computeType, cublasGemmAlgo_t algo) {
  return cublasGemmEx_64(handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta,
                         C, Ctype, ldc, computeType, algo);
}

cublasStatus_t CUBLASWINAPI cublasGemmStridedBatchedEx_64(
    cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int64_t m, int64_t n,
    int64_t k, const void* alpha, const void* A, cudaDataType Atype, int64_t lda,
    long long int strideA, const void* B, cudaDataType Btype, int64_t ldb, long long int strideB,
    const void* beta, void* C, cudaDataType Ctype, int64_t ldc, long long int strideC,
    int64_t batchCount, cublasComputeType_t computeType, cublasGemmAlgo_t algo) {
  return emu::Gemm(handle, {transa, transb,  m,       n,          k,           alpha,   A,    Atype,
                            lda,    strideA, B,       Btype,      ldb,         strideB, beta, C,
                            Ctype,  ldc,     strideC, batchCount, computeType, algo});
}

cublasStatus_t CUBLASWINAPI cublasGemmStridedBatchedEx(
    cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
    const void* alpha, const void* A, cudaDataType Atype, int lda, long long int strideA,
    const void* B, cudaDataType Btype, int ldb, long long int strideB, const void* beta, void* C,
    cudaDataType Ctype, int ldc, long long int strideC, int batchCount,
    cublasComputeType_t computeType, cublasGemmAlgo_t algo) {
  return cublasGemmStridedBatchedEx_64(handle, transa, transb, m, n, k, alpha, A, Atype, lda,
                                       strideA, B, Btype, ldb, strideB, beta, C, Ctype, ldc,
                                       strideC, batchCount, computeType, algo);
}

}  // extern "C"
