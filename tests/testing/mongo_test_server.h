#pragma once

// The MongoDB server that the MongoDB tests and benchmarks use: the URI in the environment
// variable PHYTOFLOW_TEST_MONGO_URI (scripts/test starts SecantusDB with
// tests/tools/mongo_test_server.sh and sets it; a real mongod works too). Each test works in a
// database of its own and drops it afterwards.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace phytoflow::fixtures {

// The URI in PHYTOFLOW_TEST_MONGO_URI, or nullopt when it is unset or empty.
std::optional<std::string> TestMongoUri();

// Why a MongoDB test cannot run and how to make it run, for the failure message.
std::string NoMongoServerMessage();

// `uri` with its database replaced by `database` (host, credentials and options kept):
// WithDatabase("mongodb://h:1/?x=1", "db") is "mongodb://h:1/db?x=1".
std::string WithDatabase(std::string_view uri, std::string_view database);

// Drops the database named by `uri`. Never throws: a failure is printed to stderr.
void DropMongoDatabase(const std::string& uri);

// Documents of `collection` in the database of `uri` that match `filter_json` (MongoDB extended
// JSON, e.g. R"({"data_id": "abc"})"); aborts the test program on a driver error.
int64_t CountMongoDocuments(const std::string& uri,
                            const std::string& collection,
                            const std::string& filter_json = "{}");

}  // namespace phytoflow::fixtures
