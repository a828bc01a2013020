#include "scripts.h"

#include <cstdio>
#include <cstdlib>


namespace sfroute::internal {

const EmbeddedScript& GetScript(std::string_view name) {
  for (int i = 0; i < kEmbeddedScriptCount; ++i) {
    if (kEmbeddedScripts[i].name == name) return kEmbeddedScripts[i];
  }
  std::fprintf(stderr, "sfroute: no embedded script named %.*s\n",
               static_cast<int>(name.size()), name.data());
  std::abort();
}

absl::StatusOr<Reply> RunScript(Backend& backend, const EmbeddedScript& script,
                                const std::vector<std::string>& keys,
                                const std::vector<std::string>& args) {
  Command evalsha;
  evalsha.args.reserve(3 + keys.size() + args.size());
  evalsha.args.push_back("EVALSHA");
  evalsha.args.push_back(script.sha1);
  evalsha.args.push_back(std::to_string(keys.size()));
  evalsha.args.insert(evalsha.args.end(), keys.begin(), keys.end());
  evalsha.args.insert(evalsha.args.end(), args.begin(), args.end());

  auto replies = backend.Execute({evalsha});
  if (!replies.ok()) return replies.status();
  Reply& reply = replies->front();
  if (!reply.is_error() || !reply.str.starts_with("NOSCRIPT")) return std::move(reply);

  // NOSCRIPT: the script did not run. Load it and run it in one round trip.
  Command load{{"SCRIPT", "LOAD", std::string(script.source)}};
  replies = backend.Execute({load, evalsha});
  if (!replies.ok()) return replies.status();
  if ((*replies)[0].is_error()) return std::move((*replies)[0]);
  return std::move((*replies)[1]);
}

}  // namespace sfroute::internal
