#include "phytoflow/storage/store_uri.h"

#include "phytoflow/core/error.h"

namespace phytoflow {

StoreUri ParseStoreUri(const std::string& text) {
  Check(!text.empty(), ErrorCode::kInvalidInput, "--store: expected a path or URI, found nothing");
  if (text.starts_with("mongodb://") || text.starts_with("mongodb+srv://")) {
    return StoreUri{.kind = StoreUri::Kind::kMongo, .location = text};
  }
  if (text.starts_with("sqlite:")) {
    std::string path = text.substr(7);
    if (path.starts_with("//")) {
      path = path.substr(2);
    }
    Check(!path.empty(),
          ErrorCode::kInvalidInput,
          "--store sqlite: expected a file path after 'sqlite:'");
    return StoreUri{.kind = StoreUri::Kind::kSqlite, .location = path};
  }
  const auto scheme_end = text.find("://");
  Check(
      scheme_end == std::string::npos,
      ErrorCode::kInvalidInput,
      "--store: unknown scheme in '" + text + "' (expected a path, sqlite:PATH or mongodb://...)");
  return StoreUri{.kind = StoreUri::Kind::kSqlite, .location = text};
}

}  // namespace phytoflow
