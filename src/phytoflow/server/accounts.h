#pragma once

// API tokens: creation (the secret is shown once and stored only as its SHA-256), listing,
// revocation and the check of a presented secret. Used by the server on every request and by
// `phytoflow token create|list|revoke`.
//
//   TokenRegistry tokens(*state);
//   IssuedToken issued = tokens.Create("alice", Role::kAnnotator);   // print issued.secret once
//   Authentication auth = tokens.Authenticate(secret_from_header);

#include "phytoflow/storage/service_state.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace phytoflow {

// SHA-256 of `bytes` as 64 lowercase hex digits (OpenSSL's libcrypto).
std::string Sha256Hex(std::string_view bytes);

// A new secret: "pft_" and 64 hex digits of 32 bytes from the system's cryptographic random
// source. Throws Error{kUnavailable} if that source fails.
std::string NewTokenSecret();

// A token just created: the stored record and the secret, which exists nowhere else.
struct IssuedToken {
  ApiToken token;
  std::string secret;
};

struct Authentication {
  enum class Outcome { kValid, kUnknown, kRevoked };
  Outcome outcome = Outcome::kUnknown;
  ApiToken token;  // set for kValid and kRevoked
};

// True when a token of role `have` may do what needs role `need` (viewer < annotator < admin).
bool RoleAllows(Role have, Role need);

// Thread-safe.
class TokenRegistry {
 public:
  // `now` gives the current time as ISO 8601 UTC (tests pass a fixed clock).
  explicit TokenRegistry(ServiceState& state, std::function<std::string()> now = {});

  // Creates a token. Throws Error{kInvalidInput} for an empty name, one over 100 bytes or with
  // control characters.
  IssuedToken Create(const std::string& name, Role role);
  std::vector<ApiToken> List() const;
  // Revokes a token by id; false if there is none.
  bool Revoke(int64_t id);
  // Checks a presented secret. A valid token's last use is recorded, at most once a minute per
  // token so that a busy client does not turn every read into a write.
  Authentication Authenticate(std::string_view secret);
  // The state the tokens live in, which also keeps the service's settings and jobs.
  ServiceState& State() const { return state_; }

 private:
  std::string Now() const;

  ServiceState& state_;
  std::function<std::string()> now_;
  std::mutex touch_mutex_;
  std::map<int64_t, std::chrono::steady_clock::time_point> last_touch_;  // guarded by touch_mutex_
};

}  // namespace phytoflow
