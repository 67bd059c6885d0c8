#include "testing/mongo_test_server.h"

#include <cstdlib>
#include <iostream>
#include <memory>

#include <mongoc/mongoc.h>

namespace phytoflow::fixtures {
namespace {

// A client on `uri` and the name of its database; the store has already initialised the driver
// in these programs, and mongoc_init may be called again.
struct RawClient {
  explicit RawClient(const std::string& text) {
    mongoc_init();
    bson_error_t error;
    uri = mongoc_uri_new_with_error(text.c_str(), &error);
    if (uri == nullptr) {
      std::cerr << "bad MongoDB test URI: " << error.message << "\n";
      std::abort();
    }
    if (!mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS)) {
      mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 5000);
    }
    client = mongoc_client_new_from_uri(uri);
    mongoc_client_set_error_api(client, MONGOC_ERROR_API_VERSION_2);
    const char* name = mongoc_uri_get_database(uri);
    database = name != nullptr ? name : "";
  }
  ~RawClient() {
    mongoc_client_destroy(client);
    mongoc_uri_destroy(uri);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  mongoc_uri_t* uri = nullptr;
  mongoc_client_t* client = nullptr;
  std::string database;
};

}  // namespace

std::optional<std::string> TestMongoUri() {
  const char* uri = std::getenv("PHYTOFLOW_TEST_MONGO_URI");
  if (uri == nullptr || *uri == '\0') {
    return std::nullopt;
  }
  return std::string(uri);
}

std::string NoMongoServerMessage() {
  return "PHYTOFLOW_TEST_MONGO_URI is not set, so the MongoDB tests cannot run. Run them under "
         "a test server (SecantusDB, started and stopped around the command):\n"
         "  tests/tools/mongo_test_server.sh ctest --test-dir build/dev -R 'mongo|store_contract'\n"
         "or against a real mongod:\n"
         "  PHYTOFLOW_TEST_MONGO_URI=mongodb://localhost:27017 ctest --test-dir build/dev -R "
         "'mongo|store_contract'\n"
         "(scripts/test starts the server itself; see CONTRIBUTING.md)";
}

std::string WithDatabase(std::string_view uri, std::string_view database) {
  const size_t scheme_end = uri.find("://");
  const size_t hosts = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  const size_t query = uri.find('?', hosts);
  const size_t slash = uri.find('/', hosts);
  const size_t hosts_end = std::min(slash, query);
  std::string result(uri.substr(0, hosts_end));
  result += '/';
  result += database;
  if (query != std::string_view::npos) {
    result += uri.substr(query);
  }
  return result;
}

void DropMongoDatabase(const std::string& uri) {
  RawClient raw(uri);
  mongoc_database_t* database = mongoc_client_get_database(raw.client, raw.database.c_str());
  bson_error_t error;
  if (!mongoc_database_drop(database, &error)) {
    std::cerr << "warning: cannot drop test database '" << raw.database << "': " << error.message
              << "\n";
  }
  mongoc_database_destroy(database);
}

int64_t CountMongoDocuments(const std::string& uri,
                            const std::string& collection_name,
                            const std::string& filter_json) {
  RawClient raw(uri);
  bson_error_t error;
  bson_t* filter = bson_new_from_json(reinterpret_cast<const uint8_t*>(filter_json.data()),
                                      static_cast<ssize_t>(filter_json.size()),
                                      &error);
  if (filter == nullptr) {
    std::cerr << "bad filter " << filter_json << ": " << error.message << "\n";
    std::abort();
  }
  mongoc_collection_t* collection =
      mongoc_client_get_collection(raw.client, raw.database.c_str(), collection_name.c_str());
  const int64_t count =
      mongoc_collection_count_documents(collection, filter, nullptr, nullptr, nullptr, &error);
  mongoc_collection_destroy(collection);
  bson_destroy(filter);
  if (count < 0) {
    std::cerr << "cannot count " << collection_name << ": " << error.message << "\n";
    std::abort();
  }
  return count;
}

}  // namespace phytoflow::fixtures
