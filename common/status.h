// absl::Status helpers. absl ships no public RETURN_IF_ERROR / ASSIGN_OR_RETURN.
#ifndef EGMLA_COMMON_STATUS_H_
#define EGMLA_COMMON_STATUS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define EGMLA_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::absl::Status egmla_status_ = (expr);         \
    if (!egmla_status_.ok()) return egmla_status_; \
  } while (0)

#define EGMLA_CONCAT_INNER_(a, b) a##b
#define EGMLA_CONCAT_(a, b) EGMLA_CONCAT_INNER_(a, b)

// EGMLA_ASSIGN_OR_RETURN(auto x, Foo()); declares or assigns `x` from an absl::StatusOr.
#define EGMLA_ASSIGN_OR_RETURN(lhs, expr) \
  EGMLA_ASSIGN_OR_RETURN_IMPL_(EGMLA_CONCAT_(egmla_statusor_, __LINE__), lhs, expr)
#define EGMLA_ASSIGN_OR_RETURN_IMPL_(var, lhs, expr) \
  auto var = (expr);                                 \
  if (!var.ok()) return std::move(var).status();     \
  lhs = std::move(var).value()

#endif  // EGMLA_COMMON_STATUS_H_
