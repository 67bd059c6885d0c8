#pragma once

#include <string>

namespace phytoflow {

// A parsed --store argument.
struct StoreUri {
  enum class Kind { kSqlite, kMongo };
  Kind kind = Kind::kSqlite;
  std::string location;  // file path for SQLite, the whole URI for MongoDB
};

// Parses "PATH", "sqlite:PATH" or "mongodb://HOST:PORT/DB". Throws Error{kInvalidInput} for an
// empty string or an unknown scheme.
StoreUri ParseStoreUri(const std::string& text);

// The store used when none is given.
inline constexpr const char* kDefaultStorePath = "phytoflow.db";

}  // namespace phytoflow
