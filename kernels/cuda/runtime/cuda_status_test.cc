// CUDA / cuBLAS errors → absl::Status. No device needed: these run everywhere.
#include "kernels/cuda/runtime/cuda_status.h"

#include <cublas_api.h>
#include <cuda_runtime_api.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace egmla::cuda {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

absl::Status CheckCuda(cudaError_t error, int* evaluations) {
  EGMLA_CUDA_RETURN_IF_ERROR((++*evaluations, error));
  return absl::OkStatus();
}

absl::Status CheckCublas(cublasStatus_t status) {
  EGMLA_CUBLAS_RETURN_IF_ERROR(status);
  return absl::OkStatus();
}

TEST(CudaStatusTest, SuccessPassesAndTheExpressionIsEvaluatedOnce) {
  int evaluations = 0;
  EXPECT_TRUE(CheckCuda(cudaSuccess, &evaluations).ok());
  EXPECT_EQ(evaluations, 1);
  EXPECT_FALSE(CheckCuda(cudaErrorInvalidValue, &evaluations).ok());
  EXPECT_EQ(evaluations, 2);
  EXPECT_TRUE(CheckCublas(CUBLAS_STATUS_SUCCESS).ok());
}

TEST(CudaStatusTest, MessageNamesFileLineExpressionAndError) {
  int evaluations = 0;
  const absl::Status status = CheckCuda(cudaErrorInvalidValue, &evaluations);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  // The path is relative to the source root, whatever directory the build ran in.
  EXPECT_THAT(std::string(status.message()),
              StartsWith("kernels/cuda/runtime/cuda_status_test.cc:"));
  EXPECT_THAT(status.message(),
              HasSubstr(": (++*evaluations, error) failed: cudaErrorInvalidValue: "));
}

TEST(CudaStatusTest, CudaErrorsMapToStatusCodes) {
  const auto code = [](cudaError_t error) {
    return CudaErrorToStatus(error, "f()", "x.cc", 1).code();
  };
  EXPECT_EQ(code(cudaErrorMemoryAllocation), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(code(cudaErrorInvalidDevice), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(cudaErrorInvalidResourceHandle), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(cudaErrorInsufficientDriver), absl::StatusCode::kUnavailable);
  EXPECT_EQ(code(cudaErrorNoDevice), absl::StatusCode::kUnavailable);
  EXPECT_EQ(code(cudaErrorNoKernelImageForDevice), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(code(cudaErrorIllegalAddress), absl::StatusCode::kInternal);
  EXPECT_EQ(CudaErrorToStatus(cudaErrorIllegalAddress, "f()", "x.cc", 7).message(),
            "x.cc:7: f() failed: " + CudaErrorDescription(cudaErrorIllegalAddress));
}

TEST(CudaStatusTest, CublasErrorsNameTheStatus) {
  const absl::Status status = CheckCublas(CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              StartsWith("kernels/cuda/runtime/cuda_status_test.cc:"));
  EXPECT_THAT(status.message(), HasSubstr(": status failed: CUBLAS_STATUS_INVALID_VALUE: "));
  EXPECT_EQ(CheckCublas(CUBLAS_STATUS_ALLOC_FAILED).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(CheckCublas(CUBLAS_STATUS_NOT_INITIALIZED).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CheckCublas(CUBLAS_STATUS_EXECUTION_FAILED).code(), absl::StatusCode::kInternal);
}

TEST(CudaStatusTest, PathsOutsideTheSourceRootAreKept) {
  EXPECT_STREQ(SourceRelativePath("/elsewhere/x.cc"), "/elsewhere/x.cc");
}

}  // namespace
}  // namespace egmla::cuda
