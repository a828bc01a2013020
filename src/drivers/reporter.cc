// PodReporter (include/sfroute/reporter.h), on the public API only.
#include "sfroute/reporter.h"

#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "counters.h"

namespace sfroute {

std::string LoadState(std::int64_t load, std::chrono::milliseconds unix_ms) {
  return absl::StrCat(load, "-", unix_ms.count());
}

std::string DrainState(std::chrono::milliseconds unix_ms) {
  return absl::StrCat("drain-", unix_ms.count());
}

class PodReporter::Impl {
 public:
  Impl(Executor& executor, ReporterOptions options)
      : executor_(executor), options_(std::move(options)) {
    if (options_.clock == nullptr) options_.clock = UnixClock();
    name_ =
        absl::StrCat("PodReporter(", options_.ns, "/", options_.svc, " pod ", options_.pod, ")");
    metrics_ = executor_.AddMetricsSource([this](std::vector<MetricsSnapshot::Labeled>& rows) {
      for (std::size_t code = 0; code < kCodes; ++code) {
        const std::uint64_t count = reports_.Get(code);
        // Every code seen, and OK always: a reporter that never succeeded
        // shows 0 there.
        if (count == 0 && code != 0) continue;
        rows.push_back({"sfroute_reporter_reports_total",
                        {{"svc", options_.svc},
                         {"code", absl::StatusCodeToString(static_cast<absl::StatusCode>(code))}},
                        count});
      }
    });
  }

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (timer_.joinable()) timer_.join();
    metrics_.reset();  // no collection reads this object from here on
  }

  void StartTimer() {
    timer_ = std::thread([this] { TimerLoop(); });
  }

  absl::Status Report(const CallOptions& call) {
    // One report at a time, stamped inside the lock: two reports never
    // land in the reverse order of their stamps.
    std::lock_guard<std::mutex> reporting(report_mutex_);
    std::string state;
    if (draining()) {
      state = DrainState(options_.clock->Now());
    } else {
      const std::int64_t load = options_.load();
      if (load < 0) return absl::OkStatus();  // this report skipped, as asked
      state = LoadState(load, options_.clock->Now());
    }
    const absl::Status status =
        executor_.SetServiceState(options_.ns, options_.svc, options_.pod, state, call);
    reports_.Add(static_cast<std::size_t>(status.code()) % kCodes);
    LogOutcome(status);
    return status;
  }

  // Either way the next report (on the timer's thread, at once) says so.
  void Drain() { SwitchTo(true); }
  void Resume() { SwitchTo(false); }
  bool draining() const { return draining_.load(); }

  Executor& executor() { return executor_; }
  const ReporterOptions& options() const { return options_; }

 private:
  static constexpr std::size_t kCodes = 17;  // absl::StatusCode 0 ... 16

  void SwitchTo(bool draining) {
    draining_.store(draining);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      report_soon_ = true;
    }
    wake_.notify_all();
  }

  void TimerLoop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait_for(lock, options_.period, [this] { return stopping_ || report_soon_; });
      if (stopping_) return;
      report_soon_ = false;
      lock.unlock();
      // A report ends by its deadline (the executor's command timeout), so
      // the destructor waits at most that long.
      Report({}).IgnoreError();  // logged and counted in Report
      lock.lock();
    }
  }

  // The first failure is logged, and the first after a success; a run of
  // failures of one kind is one line, plus one a minute.
  void LogOutcome(const absl::Status& status) {
    const auto now = std::chrono::steady_clock::now();
    if (status.ok()) {
      if (failing_) {
        executor_.Log(LogLevel::kInfo, absl::StrCat(name_, ": reports work again"));
      }
      failing_ = false;
      return;
    }
    if (!failing_ || status.code() != last_failure_ || now - last_logged_ >= kRepeatLog) {
      executor_.Log(LogLevel::kWarning,
                    absl::StrCat(name_, ": report failed, trying again in ",
                                 options_.period.count(), " ms: ", status.ToString()));
      last_logged_ = now;
    }
    failing_ = true;
    last_failure_ = status.code();
  }
  static constexpr std::chrono::minutes kRepeatLog{1};

  Executor& executor_;
  ReporterOptions options_;
  std::string name_;
  std::atomic<bool> draining_{false};
  drivers::ShardedCounters<kCodes> reports_;
  std::unique_ptr<Executor::MetricsSource> metrics_;

  std::mutex report_mutex_;  // held through a report
  // Guarded by report_mutex_:
  bool failing_ = false;
  absl::StatusCode last_failure_ = absl::StatusCode::kOk;
  std::chrono::steady_clock::time_point last_logged_{};

  std::mutex mutex_;  // the timer's
  std::condition_variable wake_;
  bool stopping_ = false;     // guarded by mutex_
  bool report_soon_ = false;  // guarded by mutex_
  std::thread timer_;
};

absl::StatusOr<std::unique_ptr<PodReporter>> PodReporter::Start(Executor& executor,
                                                                ReporterOptions options) {
  if (!options.load) {
    return absl::InvalidArgumentError("PodReporter: invalid load: a load function is required");
  }
  if (options.pod < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("PodReporter: invalid pod: must be 0 or more, got ", options.pod));
  }
  if (options.period.count() <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PodReporter: invalid period: must be more than 0 ms, got ", options.period.count()));
  }
  auto impl = std::make_unique<Impl>(executor, std::move(options));
  // The first report checks ns and svc (INVALID_ARGUMENT before anything
  // is sent); Redis being away is no reason not to start.
  const absl::Status first = impl->Report({});
  if (first.code() == absl::StatusCode::kInvalidArgument) return first;
  impl->StartTimer();
  return std::unique_ptr<PodReporter>(new PodReporter(std::move(impl)));
}

PodReporter::PodReporter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PodReporter::~PodReporter() = default;

absl::Status PodReporter::ReportNow(const CallOptions& call) { return impl_->Report(call); }
void PodReporter::Drain() { impl_->Drain(); }
void PodReporter::Resume() { impl_->Resume(); }
bool PodReporter::draining() const { return impl_->draining(); }
const ReporterOptions& PodReporter::options() const { return impl_->options(); }

absl::StatusOr<TrySetResult> PodReporter::Claim(std::string_view uid, const CallOptions& call) {
  const ReporterOptions& options = impl_->options();
  return impl_->executor().TrySetLinkedPod(options.ns, uid, options.svc, options.pod,
                                           Ttl::Persistent(), call);
}

absl::StatusOr<bool> PodReporter::Release(std::string_view uid, std::int64_t keep_seconds,
                                          const CallOptions& call) {
  const ReporterOptions& options = impl_->options();
  return impl_->executor().RemoveLinkedPodWithId(options.ns, uid, options.svc, keep_seconds,
                                                 options.pod, call);
}

}  // namespace sfroute
