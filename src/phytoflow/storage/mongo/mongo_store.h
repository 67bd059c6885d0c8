#pragma once

// The MongoDB store: the same Store on a MongoDB server (a standalone mongod is enough; no replica
// set, no transactions). Collections, indexes and guarantees are in docs/formats/mongodb-schema.md.
//
//   std::unique_ptr<Store> store = OpenMongoStore("mongodb://db.example.org:27017/phytoflow");
//   MongoGarbageReport removed = CollectMongoGarbage("mongodb://localhost:27017/phytoflow");
//
// A sample becomes visible all at once: its particles, images and labels are written under a
// fresh data id while the old ones stay visible, then one single-document write of the sample
// points it to the new data. A crashed write leaves only documents that no sample points to,
// which readers never see and garbage collection removes (at open, for writes older than
// kMongoStaleWriteAge, and with CollectMongoGarbage / `phytoflow store gc`).
//
// Every call may be made from any thread (each takes a connection from a pool). One writer per
// store object at a time; writers must be destroyed before the store.

#include "phytoflow/storage/store.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace phytoflow {

// A write that has not been touched for this long is taken as crashed and its documents are
// removed by garbage collection. Live writers touch theirs every minute.
inline constexpr std::chrono::seconds kMongoStaleWriteAge{3600};

// Opens the store in the database named by `uri` ("mongodb://[USER:PASSWORD@]HOST:PORT/DB[?...]",
// or mongodb+srv://), creates its collections and indexes or migrates them, and removes the
// leftovers of writes that crashed more than kMongoStaleWriteAge ago. Credentials (SCRAM) and TLS
// options pass through to the driver. serverSelectionTimeoutMS and connectTimeoutMS default to
// 5000 and socketTimeoutMS to 60000 unless the URI sets them, so a down server fails in bounded
// time. Throws Error{kInvalidInput} for a malformed URI or one without a database name,
// Error{kUnavailable} when the server cannot be reached or refuses the login, or when the
// database was written by a newer phytoflow. Messages never show the password.
std::unique_ptr<Store> OpenMongoStore(const std::string& uri);

// What one garbage collection removed.
struct MongoGarbageReport {
  int64_t writes = 0;  // crashed writes (pending_writes documents) cleaned up
  int64_t particles = 0;
  int64_t images = 0;
  int64_t labels = 0;
  int64_t label_history = 0;
  int64_t files = 0;
  bool operator==(const MongoGarbageReport&) const = default;
};

struct MongoGarbageOptions {
  // Writes untouched for longer count as crashed. 0 also removes the data of writes in progress:
  // use it only when no other process writes to the database.
  std::chrono::seconds stale_after = kMongoStaleWriteAge;
};

// Removes what crashed writes left in the database of `uri`: the documents of stale pending
// writes, then every particle, image, label and file that no sample and no live write refers to.
// Throws like OpenMongoStore.
MongoGarbageReport CollectMongoGarbage(const std::string& uri,
                                       const MongoGarbageOptions& options = {});

// `uri` with its password replaced by "***", for messages and logs.
std::string RedactMongoUri(std::string_view uri);

namespace detail {
// Tests only: called right after ReplaceLabels' flip (the updateOne that switches the sample to
// the new label set) returned; a hook that throws acts as a reply lost after the server applied
// the flip. Empty (the default) in production. Set it while no ReplaceLabels runs.
void SetAfterLabelFlipHookForTesting(std::function<void()> hook);
}  // namespace detail

}  // namespace phytoflow
