#pragma once

// The schema migrations compiled into the binary (generated from migrations/*.sql by
// embed_migrations.cmake). Internal to the SQLite store.

#include <span>
#include <string_view>

namespace phytoflow::detail {

struct EmbeddedMigration {
  int version;            // NNN of the file name; the store's PRAGMA user_version after it ran
  std::string_view name;  // "001_init.sql"
  std::string_view sql;   // the whole file
};

// All migrations, ordered by version, numbered 1..N without gaps.
std::span<const EmbeddedMigration> EmbeddedSqliteMigrations();

}  // namespace phytoflow::detail
