#pragma once

// The embedded SQLite store: one file (WAL mode) holding samples, particles, images and labels.
// The schema is in docs/formats/sqlite-schema.md.
//
//   std::unique_ptr<Store> store = OpenSqliteStore("phytoflow.db");  // ":memory:" for tests
//
// Every call may be made from any thread; calls are serialised per connection. A file store
// reads through a second connection, so readers never see a sample before its writer commits
// (an in-memory store has one connection and does). Writers must be destroyed before the store.

#include "phytoflow/storage/store.h"

#include <filesystem>
#include <memory>

namespace phytoflow {

// Opens (creating if needed) the store at `path` and brings its schema up to date. Throws
// Error{kUnavailable} if the file cannot be opened or was written by a newer phytoflow.
std::unique_ptr<Store> OpenSqliteStore(const std::filesystem::path& path);

}  // namespace phytoflow
