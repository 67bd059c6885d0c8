#include "phytoflow/cli/commands.h"
#include "phytoflow/core/error.h"
#include "phytoflow/storage/sqlite/sqlite_store.h"
#include "phytoflow/storage/store_uri.h"

#include <cstdlib>

namespace phytoflow {

std::unique_ptr<Store> OpenStore(const std::string& uri) {
  const StoreUri parsed = ParseStoreUri(uri);
  if (parsed.kind == StoreUri::Kind::kMongo) {
    throw Error(
        ErrorCode::kUnavailable,
        "the MongoDB store is not part of this build yet; use a SQLite file (--store PATH)");
  }
  return OpenSqliteStore(parsed.location);
}

void AddStoreOption(CLI::App& command, std::string& store_uri) {
  const char* from_environment = std::getenv("PHYTOFLOW_STORE");
  store_uri = from_environment && *from_environment ? from_environment : kDefaultStorePath;
  command.add_option("--store",
                     store_uri,
                     "Store: a SQLite file, PATH or sqlite:PATH (default: $PHYTOFLOW_STORE or "
                     "./phytoflow.db); mongodb:// URIs are reserved for the MongoDB store to come");
}

}  // namespace phytoflow
