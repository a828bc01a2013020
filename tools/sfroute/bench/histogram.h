// A latency histogram in the manner of HdrHistogram: log-linear buckets with
// 64 sub-buckets per power of two, so any recorded value is known to within
// about 1.6%, in constant memory and with O(1) recording. One per thread;
// merged at the end.
#ifndef SFROUTE_TOOLS_BENCH_HISTOGRAM_H_
#define SFROUTE_TOOLS_BENCH_HISTOGRAM_H_

#include <array>
#include <bit>
#include <cstdint>

namespace sfroute::bench {

class Histogram {
 public:
  void Record(std::uint64_t value) {
    ++counts_[Index(value)];
    ++total_;
  }

  void Merge(const Histogram& other) {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
  }

  std::uint64_t count() const { return total_; }

  // The value below which a fraction `quantile` (0..1) of the records lie,
  // as the middle of its bucket. 0 when empty.
  std::uint64_t Percentile(double quantile) const {
    if (total_ == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(quantile * static_cast<double>(total_ - 1));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen > rank) return Middle(i);
    }
    return Middle(counts_.size() - 1);
  }

 private:
  static constexpr int kSubBits = 6;                        // 64 sub-buckets per power of two
  static constexpr std::uint64_t kLinear = 2u << kSubBits;  // 0..127 are exact
  static constexpr std::size_t kBuckets = kLinear + (64 - kSubBits - 1) * (1u << kSubBits);

  static std::size_t Index(std::uint64_t value) {
    if (value < kLinear) return static_cast<std::size_t>(value);
    const int shift = std::bit_width(value) - 1 - kSubBits;  // top 7 bits kept
    const std::uint64_t top = value >> shift;                // in [64, 127]
    return kLinear + static_cast<std::size_t>(shift - 1) * (1u << kSubBits) +
           static_cast<std::size_t>(top - (1u << kSubBits));
  }

  static std::uint64_t Middle(std::size_t index) {
    if (index < kLinear) return index;
    const std::size_t offset = index - kLinear;
    const int shift = static_cast<int>(offset >> kSubBits) + 1;
    const std::uint64_t top = (offset & ((1u << kSubBits) - 1)) + (1u << kSubBits);
    return (top << shift) + ((std::uint64_t{1} << shift) >> 1);
  }

  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t total_ = 0;
};

}  // namespace sfroute::bench

#endif  // SFROUTE_TOOLS_BENCH_HISTOGRAM_H_
