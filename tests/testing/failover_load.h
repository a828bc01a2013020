// Load for failover tests (Redis Cluster, Sentinel): writer threads and
// lanes of async calls that link fresh uids persistently, remember the
// acknowledged ones, and count afterwards those that do not read back.
#ifndef SFROUTE_TESTS_TESTING_FAILOVER_LOAD_H_
#define SFROUTE_TESTS_TESTING_FAILOVER_LOAD_H_

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "sfroute/sfroute.h"

namespace sfroute::testing {

// Lanes of async calls beside the threads: each lane links a fresh uid,
// reads it back, and goes on with the next from the callback, until Stop.
// Failures are counted by code; a read that does not give the pod just
// written is a mismatch.
class AsyncLanes {
 public:
  AsyncLanes(Executor& executor, std::string ns, std::string prefix, int lanes)
      : executor_(executor), ns_(std::move(ns)), prefix_(std::move(prefix)), lanes_(lanes) {}
  ~AsyncLanes() { Stop(); }

  void Start() {
    for (int lane = 0; lane < lanes_; ++lane) {
      ++running_;
      Link(lane, 0);
    }
  }
  // Waits until every lane has finished its call in progress.
  void Stop() {
    stop_ = true;
    while (running_.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  long operations() const { return operations_; }
  long errors() const { return errors_; }
  int mismatches() const { return mismatches_; }
  std::vector<std::string> unexpected() {
    std::lock_guard<std::mutex> lock(mutex_);
    return unexpected_;
  }
  // Acknowledged links that do not read back.
  int CountLost(Executor& reader) {
    std::map<std::string, PodIndex> acked;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      acked = acked_;
    }
    int lost = 0;
    for (const auto& [uid, pod] : acked) {
      auto linked = reader.GetLinkedPod(ns_, uid, "svc");
      lost += !linked.ok() || *linked != pod;
    }
    return lost;
  }
  long acked() {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<long>(acked_.size());
  }

 private:
  void Link(int lane, long n) {
    if (stop_) {
      --running_;
      return;
    }
    const std::string uid = prefix_ + std::to_string(lane) + "-" + std::to_string(n);
    const PodIndex pod = static_cast<PodIndex>(n % 1000);
    executor_.SetLinkedPodAsync(
        ns_, uid, "svc", pod, Ttl::Persistent(),
        [this, lane, n, uid, pod](absl::StatusOr<std::optional<PodIndex>> previous) {
          ++operations_;
          if (!Check(previous.status())) {
            Link(lane, n + 1);
            return;
          }
          {
            std::lock_guard<std::mutex> lock(mutex_);
            acked_[uid] = pod;
          }
          executor_.GetLinkedPodAsync(
              ns_, uid, "svc", [this, lane, n, pod](absl::StatusOr<std::optional<PodIndex>> read) {
                ++operations_;
                if (Check(read.status()) && *read != pod) ++mismatches_;
                Link(lane, n + 1);
              });
        });
  }
  bool Check(const absl::Status& status) {
    if (status.ok()) return true;
    ++errors_;
    if (status.code() != absl::StatusCode::kUnavailable &&
        status.code() != absl::StatusCode::kDeadlineExceeded) {
      std::lock_guard<std::mutex> lock(mutex_);
      unexpected_.push_back(status.ToString());
    }
    return false;
  }

  Executor& executor_;
  const std::string ns_;
  const std::string prefix_;
  const int lanes_;
  std::atomic<bool> stop_{false};
  std::atomic<int> running_{0};
  std::atomic<long> operations_{0};
  std::atomic<long> errors_{0};
  std::atomic<int> mismatches_{0};
  std::mutex mutex_;
  std::map<std::string, PodIndex> acked_;
  std::vector<std::string> unexpected_;
};

// Writer threads that link fresh uids (each written once, persistent) and
// remember the ones acknowledged; `accept` picks the uids (for example: only
// those a given primary serves). Errors other than UNAVAILABLE and
// DEADLINE_EXCEEDED are kept as unexpected.
class WriteLoad {
 public:
  WriteLoad(Executor& executor, std::string ns, std::string prefix,
            std::function<bool(const std::string& uid)> accept)
      : executor_(executor),
        ns_(std::move(ns)),
        prefix_(std::move(prefix)),
        accept_(std::move(accept)) {}
  ~WriteLoad() { Stop(); }

  void Start(int threads) {
    acked_.resize(threads);
    for (int t = 0; t < threads; ++t) threads_.emplace_back([this, t] { Run(t); });
  }
  void Stop() {
    stop_ = true;
    for (auto& thread : threads_) thread.join();
    threads_.clear();
  }

  // From now on, the first write that starts and succeeds marks the resume.
  void MarkEvent() {
    first_ok_ms_ = -1;
    event_ = std::chrono::steady_clock::now();
    event_set_ = true;
  }
  // Milliseconds from MarkEvent to the first acknowledged write that started
  // after it; -1 if none within `timeout`.
  long long WaitResume(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (first_ok_ms_ < 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return first_ok_ms_;
  }

  // Acknowledged links that do not read back (re-read in batches).
  int CountLost(Executor& reader) {
    int lost = 0;
    std::vector<std::pair<std::string, PodIndex>> all;
    for (const auto& links : acked_) all.insert(all.end(), links.begin(), links.end());
    for (std::size_t begin = 0; begin < all.size(); begin += 500) {
      std::vector<std::string> uids;
      std::map<std::string, PodIndex> expected;
      for (std::size_t i = begin; i < std::min(all.size(), begin + 500); ++i) {
        uids.push_back(all[i].first);
        expected[all[i].first] = all[i].second;
      }
      auto pods = reader.BatchGetLinkedPod(ns_, uids, "svc");
      if (!pods.ok()) {
        ADD_FAILURE() << pods.status();
        return -1;
      }
      std::map<std::string, PodIndex> found;
      for (const auto& [pod, pod_uids] : *pods) {
        for (const std::string& uid : pod_uids) found[uid] = pod;
      }
      for (const auto& [uid, pod] : expected) lost += found.count(uid) == 0 || found[uid] != pod;
    }
    return lost;
  }

  long acked() const {
    long count = 0;
    for (const auto& links : acked_) count += static_cast<long>(links.size());
    return count;
  }
  long operations() const { return operations_; }
  long errors() const { return errors_; }
  long long max_latency_ms() const { return max_latency_ms_; }
  const std::vector<std::string>& unexpected() const { return unexpected_; }

 private:
  void Run(int thread) {
    for (long n = 0; !stop_ && n < 10'000'000; ++n) {
      const std::string uid = prefix_ + std::to_string(thread) + "-" + std::to_string(n);
      if (!accept_(uid)) continue;
      const auto started = std::chrono::steady_clock::now();
      const bool after_event = event_set_ && started > event_.load();
      const PodIndex pod = static_cast<PodIndex>(n % 1000);
      auto written = executor_.SetLinkedPod(ns_, uid, "svc", pod, Ttl::Persistent());
      operations_++;
      const long long latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::steady_clock::now() - started)
                                       .count();
      for (long long seen = max_latency_ms_; latency_ms > seen;) {
        if (max_latency_ms_.compare_exchange_weak(seen, latency_ms)) break;
      }
      if (written.ok()) {
        acked_[thread].emplace_back(uid, pod);
        long long expected = -1;
        if (after_event) {
          first_ok_ms_.compare_exchange_strong(
              expected, std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - event_.load())
                            .count());
        }
        continue;
      }
      errors_++;
      const auto code = written.status().code();
      if (code != absl::StatusCode::kUnavailable && code != absl::StatusCode::kDeadlineExceeded) {
        std::lock_guard<std::mutex> lock(mutex_);
        unexpected_.push_back(written.status().ToString());
      }
    }
  }

  Executor& executor_;
  const std::string ns_;
  const std::string prefix_;
  const std::function<bool(const std::string&)> accept_;
  std::vector<std::thread> threads_;
  std::vector<std::vector<std::pair<std::string, PodIndex>>> acked_;  // per thread
  std::atomic<bool> stop_{false};
  std::atomic<bool> event_set_{false};
  std::atomic<std::chrono::steady_clock::time_point> event_{};
  std::atomic<long long> first_ok_ms_{-1};
  std::atomic<long> operations_{0};
  std::atomic<long> errors_{0};
  std::atomic<long long> max_latency_ms_{0};
  std::mutex mutex_;
  std::vector<std::string> unexpected_;
};

}  // namespace sfroute::testing

#endif  // SFROUTE_TESTS_TESTING_FAILOVER_LOAD_H_
