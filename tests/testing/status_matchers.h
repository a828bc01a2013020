// ASSERT_OK / EXPECT_OK / ASSERT_OK_AND_ASSIGN for absl::Status(Or).
#ifndef SFROUTE_TESTS_TESTING_STATUS_MATCHERS_H_
#define SFROUTE_TESTS_TESTING_STATUS_MATCHERS_H_

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace sfroute::testing {
inline const absl::Status& ToStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& ToStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

inline ::testing::AssertionResult StatusHasCode(const char* status_expr, const char*,
                                                const absl::Status& status, absl::StatusCode code) {
  if (status.code() == code) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << status_expr << " is " << status << ", expected code " << absl::StatusCodeToString(code);
}

// Whether the status's message contains `text`.
inline bool MessageHas(const absl::Status& status, std::string_view text) {
  return std::string_view(status.message().data(), status.message().size()).find(text) !=
         std::string_view::npos;
}

// The canonical code names, as EXPECT_STATUS_CODE takes them.
namespace codes {
inline constexpr auto OK = ::absl::StatusCode::kOk;
inline constexpr auto INVALID_ARGUMENT = ::absl::StatusCode::kInvalidArgument;
inline constexpr auto UNAVAILABLE = ::absl::StatusCode::kUnavailable;
inline constexpr auto DEADLINE_EXCEEDED = ::absl::StatusCode::kDeadlineExceeded;
inline constexpr auto PERMISSION_DENIED = ::absl::StatusCode::kPermissionDenied;
inline constexpr auto DATA_LOSS = ::absl::StatusCode::kDataLoss;
inline constexpr auto INTERNAL = ::absl::StatusCode::kInternal;
inline constexpr auto CANCELLED = ::absl::StatusCode::kCancelled;
inline constexpr auto FAILED_PRECONDITION = ::absl::StatusCode::kFailedPrecondition;
}  // namespace codes
}  // namespace sfroute::testing

#define EXPECT_OK(expr) EXPECT_EQ(::sfroute::testing::ToStatus(expr), ::absl::OkStatus())
#define ASSERT_OK(expr) ASSERT_EQ(::sfroute::testing::ToStatus(expr), ::absl::OkStatus())

#define SFROUTE_CONCAT_INNER(a, b) a##b
#define SFROUTE_CONCAT(a, b) SFROUTE_CONCAT_INNER(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL(SFROUTE_CONCAT(status_or_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  ASSERT_OK(tmp);                                 \
  lhs = std::move(tmp).value()

// Expects that `expr` failed with `code_name` (INVALID_ARGUMENT, DATA_LOSS,
// ...: see namespace codes above). `expr` is evaluated once; more context
// can be streamed in with <<.
#define EXPECT_STATUS_CODE(expr, code_name)                                                  \
  EXPECT_PRED_FORMAT2(::sfroute::testing::StatusHasCode, ::sfroute::testing::ToStatus(expr), \
                      ::sfroute::testing::codes::code_name)

#endif  // SFROUTE_TESTS_TESTING_STATUS_MATCHERS_H_
