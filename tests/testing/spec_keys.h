// The keys of SPEC.md §1, spelled out by the tests rather than taken from the
// library, so that the library's key formatting is checked from outside.
#ifndef SFROUTE_TESTS_TESTING_SPEC_KEYS_H_
#define SFROUTE_TESTS_TESTING_SPEC_KEYS_H_

#include <string>

namespace sfroute::testing {

// The keys of one namespace, `ns_`, which the test fixture sets.
class SpecKeys {
 public:
  std::string LinkKey(const std::string& uid, const std::string& svc) const {
    return LinksHashKey(uid) + svc;
  }
  std::string LinksHashKey(const std::string& uid) const {
    return "sf:{" + ns_ + ":lk:" + uid + "}";
  }
  std::string StateKey(const std::string& svc) const {
    return "sf:{" + ns_ + ":state:" + svc + "}";
  }
  std::string WorkloadKey(const std::string& svc) const {
    return "sf:{" + ns_ + ":workload:" + svc + "}";
  }
  // The KEYS pattern of every key of the namespace.
  std::string NamespacePattern() const { return "sf:{" + ns_ + ":*"; }

 protected:
  std::string ns_;
};

}  // namespace sfroute::testing

#endif  // SFROUTE_TESTS_TESTING_SPEC_KEYS_H_
