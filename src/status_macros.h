// Early return on a failed absl::Status.
#ifndef SFROUTE_SRC_STATUS_MACROS_H_
#define SFROUTE_SRC_STATUS_MACROS_H_

#define SFROUTE_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    const ::absl::Status sfroute_status_ = (expr);     \
    if (!sfroute_status_.ok()) return sfroute_status_; \
  } while (0)

#endif  // SFROUTE_SRC_STATUS_MACROS_H_
