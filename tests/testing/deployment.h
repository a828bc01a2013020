// The deployments a conformance test runs against: the in-process memory
// backend, a standalone Redis and a Redis Cluster. Each operation test is
// written once as a TEST_P over DeploymentTest and instantiated with
//
//   INSTANTIATE_TEST_SUITE_P(, MySuite, ::testing::ValuesIn(Deployments()),
//                            DeploymentParamName());
//
// Memory and Standalone always run; Cluster runs when $SFROUTE_TEST_CLUSTER
// holds a redis-cluster:// URL. A test reaches the keys from outside the
// library through a RawStore with the same interface everywhere.
#ifndef SFROUTE_TESTS_TESTING_DEPLOYMENT_H_
#define SFROUTE_TESTS_TESTING_DEPLOYMENT_H_

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "raw_redis.h"
#include "sfroute/options.h"
#include "sfroute/sfroute.h"
#include "spec_keys.h"

namespace sfroute::testing {

enum class Deployment { kMemory, kStandalone, kCluster };

// "Memory", "Standalone", "Cluster": the suffix of the test names.
std::string DeploymentName(Deployment deployment);
void PrintTo(Deployment deployment, std::ostream* os);

// Memory and Standalone, and Cluster when $SFROUTE_TEST_CLUSTER is set.
std::vector<Deployment> Deployments();

// The name generator for INSTANTIATE_TEST_SUITE_P.
struct DeploymentParamName {
  std::string operator()(const ::testing::TestParamInfo<Deployment>& info) const {
    return DeploymentName(info.param);
  }
};

// The URL an executor opens for `deployment`. Memory: a new memory://<name>
// on every call (a store of its own); Standalone: SharedRedisUrl(); Cluster:
// $SFROUTE_TEST_CLUSTER.
std::string NewDeploymentUrl(Deployment deployment);

// Raw access to the keys behind `url` (a URL NewDeploymentUrl returned):
//   memory://name      runs the commands on the store executors of the same
//                      URL share (it keeps the store alive);
//   redis://...        a RawRedis;
//   redis-cluster://   follows MOVED/ASK redirections to the owning node;
//                      Keys asks every primary.
std::unique_ptr<RawStore> OpenRawStore(const std::string& url);

// Executor::Open that fails the test (and returns null) when it cannot open.
std::unique_ptr<Executor> OpenOrDie(const Options& options);

// A test against one deployment: an executor, raw access to the same keys,
// and a namespace of its own.
class DeploymentTest : public ::testing::TestWithParam<Deployment>, public SpecKeys {
 protected:
  void SetUp() override;
  void TearDown() override;  // deletes the namespace's keys

  // What the executor was opened with; a test that opens more executors
  // (other options) starts from these to reach the same keys.
  Options ExecutorOptions() const {
    Options options;
    options.redis_url = url_;
    return options;
  }
  const std::string& url() const { return url_; }

  Executor& ex() { return *executor_; }
  RawStore& raw() { return *raw_; }

  // Every key of this test's namespace (sf:{<ns>:*), sorted.
  std::vector<std::string> NamespaceKeys();

  std::string url_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<RawStore> raw_;
};

}  // namespace sfroute::testing

#endif  // SFROUTE_TESTS_TESTING_DEPLOYMENT_H_
