#include "phytoflow/server/accounts.h"

#include "phytoflow/core/error.h"
#include "phytoflow/core/version.h"

#include <array>

#include <openssl/evp.h>
#include <openssl/rand.h>

namespace phytoflow {
namespace {

constexpr std::string_view kSecretPrefix = "pft_";  // makes leaked tokens easy to grep for
constexpr size_t kSecretBytes = 32;
constexpr size_t kMaxNameBytes = 100;
constexpr auto kTouchInterval = std::chrono::minutes(1);

std::string Hex(const unsigned char* bytes, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(size * 2);
  for (size_t idx = 0; idx < size; ++idx) {
    hex += kDigits[bytes[idx] >> 4];
    hex += kDigits[bytes[idx] & 0x0f];
  }
  return hex;
}

}  // namespace

std::string Sha256Hex(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) {
    throw Error(ErrorCode::kInternal, "SHA-256 failed (OpenSSL EVP_Digest)");
  }
  return Hex(digest.data(), size);
}

std::string NewTokenSecret() {
  std::array<unsigned char, kSecretBytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    throw Error(ErrorCode::kUnavailable, "no cryptographic random bytes (OpenSSL RAND_bytes)");
  }
  return std::string(kSecretPrefix) + Hex(bytes.data(), bytes.size());
}

bool RoleAllows(Role have, Role need) {
  return static_cast<int>(have) >= static_cast<int>(need);
}

TokenRegistry::TokenRegistry(ServiceState& state, std::function<std::string()> now)
    : state_(state), now_(std::move(now)) {}

std::string TokenRegistry::Now() const {
  return now_ ? now_() : NowUtcIso8601();
}

IssuedToken TokenRegistry::Create(const std::string& name, Role role) {
  Check(!name.empty(), ErrorCode::kInvalidInput, "token name: must not be empty");
  Check(name.size() <= kMaxNameBytes,
        ErrorCode::kInvalidInput,
        "token name: at most " + std::to_string(kMaxNameBytes) + " bytes, found " +
            std::to_string(name.size()));
  for (const char c : name) {
    Check(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f,
          ErrorCode::kInvalidInput,
          "token name: control characters are not allowed");
  }
  IssuedToken issued{.secret = NewTokenSecret()};
  issued.token = state_.AddToken(name, role, Sha256Hex(issued.secret), Now());
  return issued;
}

std::vector<ApiToken> TokenRegistry::List() const {
  return state_.Tokens();
}

bool TokenRegistry::Revoke(int64_t id) {
  return state_.RevokeToken(id, Now());
}

Authentication TokenRegistry::Authenticate(std::string_view secret) {
  // Only the hash is looked up, so the secret never reaches the state or a log.
  std::optional<ApiToken> token = state_.FindToken(Sha256Hex(secret));
  if (!token) {
    return {.outcome = Authentication::Outcome::kUnknown};
  }
  if (token->Revoked()) {
    return {.outcome = Authentication::Outcome::kRevoked, .token = std::move(*token)};
  }
  const auto now = std::chrono::steady_clock::now();
  bool touch = false;
  {
    std::lock_guard lock(touch_mutex_);
    const auto found = last_touch_.find(token->id);
    if (found == last_touch_.end() || now - found->second >= kTouchInterval) {
      last_touch_[token->id] = now;
      touch = true;
    }
  }
  if (touch) {
    token->last_used_at = Now();
    state_.TouchToken(token->id, token->last_used_at);
  }
  return {.outcome = Authentication::Outcome::kValid, .token = std::move(*token)};
}

}  // namespace phytoflow
