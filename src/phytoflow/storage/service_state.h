#pragma once

// The ServiceState interface: what the HTTP service keeps besides the samples (API tokens, settings,
// background jobs). It lives apart from the Store because it belongs to one service
// installation, not to the data: a SQLite store keeps it beside itself in <store>.service.db, a
// MongoDB store in a file named by --state. The server layer uses it (server/accounts.h); the
// SQLite implementation is storage/sqlite/sqlite_service_state.h.
//
//   std::unique_ptr<ServiceState> state = OpenSqliteServiceState("phytoflow.db.service.db");
//   ApiToken token = state->AddToken("alice", Role::kAnnotator, secret_sha256, now);

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace phytoflow {

// What a token may do. Each role may do everything the roles before it may.
enum class Role {
  kViewer,     // read samples, particles, products and models
  kAnnotator,  // also edit metadata and labels
  kAdmin,      // also manage the service
};

// "viewer", "annotator", "admin".
inline std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kAnnotator:
      return "annotator";
    case Role::kAdmin:
      return "admin";
  }
  return "viewer";
}

// The role named `name`, or nullopt.
inline std::optional<Role> ParseRole(std::string_view name) {
  for (const Role role : {Role::kViewer, Role::kAnnotator, Role::kAdmin}) {
    if (RoleName(role) == name) {
      return role;
    }
  }
  return std::nullopt;
}

// An API token as stored: never the secret itself, only its SHA-256.
struct ApiToken {
  int64_t id = 0;    // given by the state, for listing and revocation
  std::string name;  // who or what it is for, e.g. "alice" or "ingest-bot"
  Role role = Role::kViewer;
  std::string secret_sha256;  // 64 lowercase hex digits
  std::string created_at;     // ISO 8601 UTC
  std::string last_used_at;   // ISO 8601 UTC; empty: never used
  std::string revoked_at;     // ISO 8601 UTC; empty: valid

  bool Revoked() const { return !revoked_at.empty(); }
  bool operator==(const ApiToken&) const = default;
};

// Thread-safe: the server calls it from every request thread.
class ServiceState {
 public:
  virtual ~ServiceState() = default;

  // Stores a new token and returns it with its id. Throws Error{kConflict} if a token with the
  // same secret_sha256 exists (a repeated secret is a bug in the caller's random source).
  virtual ApiToken AddToken(const std::string& name,
                            Role role,
                            const std::string& secret_sha256,
                            const std::string& created_at) = 0;
  // Every token, revoked ones included, by id.
  virtual std::vector<ApiToken> Tokens() const = 0;
  // The token whose secret has this SHA-256 (revoked or not), or nullopt.
  virtual std::optional<ApiToken> FindToken(const std::string& secret_sha256) const = 0;
  // Marks a token revoked at `revoked_at`. Returns false if there is no token with this id;
  // revoking a revoked token keeps its first revocation time and returns true.
  virtual bool RevokeToken(int64_t id, const std::string& revoked_at) = 0;
  // Records that the token was used at `used_at`.
  virtual void TouchToken(int64_t id, const std::string& used_at) = 0;

  // Small named settings of the installation that must survive a restart, e.g.
  // kActiveModelSetting. The value of `key`, or nullopt when it was never set.
  virtual std::optional<std::string> Setting(const std::string& key) const = 0;
  // Sets (or replaces) a setting.
  virtual void SetSetting(const std::string& key, const std::string& value) = 0;
};

// The setting that holds the id of the model chosen with POST /api/v1/models/{id}/activate.
inline constexpr const char* kActiveModelSetting = "active_model";

}  // namespace phytoflow
