#include "phytoflow/cli/commands.h"
#include "phytoflow/core/error.h"
#include "phytoflow/storage/sqlite/sqlite_store.h"
#include "phytoflow/storage/store_uri.h"
#ifdef PHYTOFLOW_WITH_MONGO
#include "phytoflow/storage/mongo/mongo_store.h"
#endif

#include <cstdlib>

namespace phytoflow {

std::unique_ptr<Store> OpenStore(const std::string& uri) {
  const StoreUri parsed = ParseStoreUri(uri);
  if (parsed.kind == StoreUri::Kind::kMongo) {
#ifdef PHYTOFLOW_WITH_MONGO
    return OpenMongoStore(parsed.location);
#else
    throw Error(ErrorCode::kUnavailable,
                "this phytoflow was built without the MongoDB store (PHYTOFLOW_WITH_MONGO=OFF); "
                "use a SQLite file (--store PATH)");
#endif
  }
  return OpenSqliteStore(parsed.location);
}

void AddStoreOption(CLI::App& command, std::string& store_uri) {
  const char* from_environment = std::getenv("PHYTOFLOW_STORE");
  store_uri = from_environment && *from_environment ? from_environment : kDefaultStorePath;
  command.add_option("--store",
                     store_uri,
                     "Store: a SQLite file (PATH or sqlite:PATH) or a MongoDB database "
                     "(mongodb://[USER:PASSWORD@]HOST:PORT/DB[?tls=true&...]); default: "
                     "$PHYTOFLOW_STORE or ./phytoflow.db");
}

}  // namespace phytoflow
