#pragma once

// The service state (API tokens) in a small SQLite file of its own, by default beside a SQLite
// store as <store>.service.db. The schema is in docs/api.md ("Service state").
//
//   std::unique_ptr<ServiceState> state = OpenSqliteServiceState("phytoflow.db.service.db");
//
// Every call may be made from any thread (one connection, serialised by a mutex). Several
// processes may use the same file: `phytoflow token revoke` in a shell takes effect on the next
// request of a running server, which reads the token on every request.

#include "phytoflow/storage/service_state.h"

#include <filesystem>
#include <memory>

namespace phytoflow {

// Opens (creating if needed) the service state at `path` (":memory:" for tests) and brings its
// schema up to date. Throws Error{kUnavailable} if the file cannot be opened or was written by a
// newer phytoflow.
std::unique_ptr<ServiceState> OpenSqliteServiceState(const std::filesystem::path& path);

}  // namespace phytoflow
