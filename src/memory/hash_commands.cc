// HSET, HGET, HDEL, HGETALL and HLEN.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "memory/commands.h"

namespace sfroute::internal {

Reply HsetCommand(CommandEnv& env, Args args) {
  if (args.size() % 2 != 0) return WrongArityError("hset");  // field without a value
  Entry& entry = env.keyspace.FindOrCreate<HashValue>(args[1]);
  auto* hash_value = std::get_if<HashValue>(&entry.value);
  if (hash_value == nullptr) return WrongTypeError();  // an existing key of another type
  auto& hash = *hash_value;
  std::int64_t added = 0;
  for (std::size_t i = 2; i < args.size(); i += 2) added += hash.Set(args[i], args[i + 1]) ? 1 : 0;
  return Reply::Integer(added);
}

Reply HgetCommand(CommandEnv& env, Args args) {
  bool wrong_type;
  const HashValue* hash = FindValue<HashValue>(env.keyspace, args[1], wrong_type);
  if (wrong_type) return WrongTypeError();
  const std::string* value = hash == nullptr ? nullptr : hash->Find(args[2]);
  return value == nullptr ? Reply::Nil() : Reply::String(*value);
}

Reply HdelCommand(CommandEnv& env, Args args) {
  bool wrong_type;
  HashValue* hash = FindValue<HashValue>(env.keyspace, args[1], wrong_type);
  if (wrong_type) return WrongTypeError();
  if (hash == nullptr) return Reply::Integer(0);
  std::int64_t deleted = 0;
  for (const std::string& field : args.subspan(2)) deleted += hash->Erase(field) ? 1 : 0;
  if (hash->empty()) env.keyspace.Erase(args[1]);  // Redis never keeps an empty hash
  return Reply::Integer(deleted);
}

Reply HgetallCommand(CommandEnv& env, Args args) {
  bool wrong_type;
  const HashValue* hash = FindValue<HashValue>(env.keyspace, args[1], wrong_type);
  if (wrong_type) return WrongTypeError();
  std::vector<Reply> flat;
  if (hash != nullptr) {
    flat.reserve(2 * hash->size());
    hash->ForEach([&](const std::string& field, const std::string& value) {
      flat.push_back(Reply::String(field));
      flat.push_back(Reply::String(value));
    });
  }
  return Reply::Array(std::move(flat));
}

Reply HlenCommand(CommandEnv& env, Args args) {
  bool wrong_type;
  const HashValue* hash = FindValue<HashValue>(env.keyspace, args[1], wrong_type);
  if (wrong_type) return WrongTypeError();
  return Reply::Integer(hash == nullptr ? 0 : static_cast<std::int64_t>(hash->size()));
}

}  // namespace sfroute::internal
