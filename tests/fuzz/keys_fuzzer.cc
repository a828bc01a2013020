// Fuzz target: identifier validation and key building (src/keys.h), and the
// cluster slot of the keys (src/cluster/slot.h).
//
// The input holds two identities, each (ns, uid, svc, state), as
// length-prefixed byte strings. Checked:
//  - each Validate* agrees with the rules of SPEC.md §1 (a reference
//    implementation below), and a rejection is INVALID_ARGUMENT naming the
//    field with a short message (it never quotes the value);
//  - the wire format is unambiguous: for two identities that validate,
//    LinkKey is equal only if (ns, uid, svc) are, LinksHashKey only if
//    (ns, uid) are, StateKey and WorkloadKey only if (ns, svc) are, and no
//    key of one kind equals a key of another kind;
//  - the two link keys of a uid have the hash tag "<ns>:lk:<uid>" and the
//    same KeySlot; the state and workload keys hash on their whole tag.
#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cluster/slot.h"
#include "fuzz_check.h"
#include "keys.h"

namespace sfroute::fuzz {
namespace {

using namespace sfroute::internal;  // NOLINT: the functions under test

struct Identity {
  std::string ns, uid, svc, state;
};

// SPEC.md §1: ns and svc are 1-253 bytes of printable ASCII (0x21-0x7E)
// without '{', '}' or ':'.
bool ReferenceNameOk(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  for (unsigned char c : name) {
    if (c < 0x21 || c > 0x7e || c == '{' || c == '}' || c == ':') return false;
  }
  return true;
}

// uid: 1-512 bytes, no '{' or '}', no ASCII control characters or spaces.
bool ReferenceUidOk(std::string_view uid) {
  if (uid.empty() || uid.size() > 512) return false;
  for (unsigned char c : uid) {
    if (c == '{' || c == '}' || c <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

// state: 1-4096 bytes.
bool ReferenceStateOk(std::string_view state) { return !state.empty() && state.size() <= 4096; }

// Validates `value` both ways and checks the two agree; returns whether valid.
bool CheckValidation(const absl::Status& status, bool reference_ok, std::string_view field,
                     std::string_view value) {
  const std::string context = std::string(field) + " \"" + Escape(value) + "\" (" +
                              std::to_string(value.size()) + " bytes): " + status.ToString();
  FUZZ_CHECK(status.ok() == reference_ok, context);
  if (!status.ok()) {
    FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument, context);
    FUZZ_CHECK(std::string(status.message()).find(field) != std::string::npos, context);
    FUZZ_CHECK(status.message().size() < 200, context);
  }
  return reference_ok;
}

bool Validate(const Identity& id) {
  // Every field is checked, also after a failure, so that each rule is
  // compared with the reference.
  const bool ns = CheckValidation(ValidateNamespace(id.ns), ReferenceNameOk(id.ns), "ns", id.ns);
  const bool uid = CheckValidation(ValidateUid(id.uid), ReferenceUidOk(id.uid), "uid", id.uid);
  const bool svc = CheckValidation(ValidateService(id.svc), ReferenceNameOk(id.svc), "svc", id.svc);
  CheckValidation(ValidateState(id.state), ReferenceStateOk(id.state), "state", id.state);
  return ns && uid && svc;
}

std::string Describe(const Identity& id) {
  return "(ns \"" + Escape(id.ns) + "\", uid \"" + Escape(id.uid) + "\", svc \"" + Escape(id.svc) +
         "\")";
}

// The four keys of an identity, by kind.
std::array<std::string, 4> KeysOf(const Identity& id) {
  return {LinkKey(id.ns, id.uid, id.svc), LinksHashKey(id.ns, id.uid), StateKey(id.ns, id.svc),
          WorkloadKey(id.ns, id.svc)};
}

void CheckOne(const Identity& id) {
  const std::string context = Describe(id);
  const std::string link = LinkKey(id.ns, id.uid, id.svc);
  const std::string links = LinksHashKey(id.ns, id.uid);
  FUZZ_CHECK(link == "sf:{" + id.ns + ":lk:" + id.uid + "}" + id.svc, context);
  FUZZ_CHECK(links == "sf:{" + id.ns + ":lk:" + id.uid + "}", context);
  const std::string tag = id.ns + ":lk:" + id.uid;
  FUZZ_CHECK(HashTag(link) == tag, context + " link key tag " + Escape(HashTag(link)));
  FUZZ_CHECK(HashTag(links) == tag, context + " links hash tag " + Escape(HashTag(links)));
  FUZZ_CHECK(KeySlot(link) == KeySlot(links), context);
  FUZZ_CHECK(KeySlot(link) >= 0 && KeySlot(link) < kClusterSlots, context);
  FUZZ_CHECK(HashTag(StateKey(id.ns, id.svc)) == id.ns + ":state:" + id.svc, context);
  FUZZ_CHECK(HashTag(WorkloadKey(id.ns, id.svc)) == id.ns + ":workload:" + id.svc, context);
}

void CheckPair(const Identity& a, const Identity& b) {
  const std::string context = Describe(a) + " and " + Describe(b);
  const std::array<std::string, 4> keys_a = KeysOf(a);
  const std::array<std::string, 4> keys_b = KeysOf(b);
  const std::array<bool, 4> same_fields = {
      a.ns == b.ns && a.uid == b.uid && a.svc == b.svc,  // LinkKey
      a.ns == b.ns && a.uid == b.uid,                    // LinksHashKey
      a.ns == b.ns && a.svc == b.svc,                    // StateKey
      a.ns == b.ns && a.svc == b.svc,                    // WorkloadKey
  };
  for (std::size_t i = 0; i < keys_a.size(); ++i) {
    for (std::size_t j = 0; j < keys_b.size(); ++j) {
      const bool must_equal = i == j && same_fields[i];
      FUZZ_CHECK((keys_a[i] == keys_b[j]) == must_equal,
                 context + ": key kinds " + std::to_string(i) + " and " + std::to_string(j) +
                     ", \"" + Escape(keys_a[i]) + "\" vs \"" + Escape(keys_b[j]) + "\"");
    }
  }
}

Identity ReadIdentity(FuzzedDataProvider& input) {
  Identity id;
  id.ns = input.ConsumeRandomLengthString(300);
  id.uid = input.ConsumeRandomLengthString(600);
  id.svc = input.ConsumeRandomLengthString(300);
  id.state = input.ConsumeRandomLengthString(5000);
  return id;
}

}  // namespace
}  // namespace sfroute::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  const sfroute::fuzz::Identity a = sfroute::fuzz::ReadIdentity(input);
  // The second identity often shares fields with the first, so that the
  // near misses ("a}" + "b" against "a" + "}b") are tried.
  sfroute::fuzz::Identity b = sfroute::fuzz::ReadIdentity(input);
  const std::uint8_t share = input.ConsumeIntegral<std::uint8_t>();
  if (share & 1) b.ns = a.ns;
  if (share & 2) b.uid = a.uid;
  if (share & 4) b.svc = a.svc;
  const bool a_ok = sfroute::fuzz::Validate(a);
  const bool b_ok = sfroute::fuzz::Validate(b);
  if (a_ok) sfroute::fuzz::CheckOne(a);
  if (a_ok && b_ok) sfroute::fuzz::CheckPair(a, b);
  return 0;
}
