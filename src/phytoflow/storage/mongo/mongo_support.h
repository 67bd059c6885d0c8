#pragma once

// Private to storage/mongo (only its .cpp files include it): RAII wrappers over libmongoc and
// libbson, BSON building and reading helpers, and the one place where a driver error becomes an
// Error. Nothing here knows about samples or particles.

#include "phytoflow/core/error.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <mongoc/mongoc.h>

namespace phytoflow::detail {

// mongoc_init() once per process (mongoc_cleanup() at exit), with the driver's log routed to us:
// warnings and errors go to stderr, its INFO and DEBUG chatter is dropped.
void InitMongoDriver();

// ---------------------------------------------------------------------------------------------
// Errors

// What a message says about the server: the URI without password, its hosts, and the bound on
// finding a server.
struct MongoTarget {
  std::string redacted_uri;
  std::string hosts;  // "host:port[,host:port...]"
  int32_t server_selection_timeout_ms = 0;
};

// kUnavailable for an unreachable server, a network failure, a refused login or a server shutting
// down; kConflict for a duplicate key; kInternal otherwise.
ErrorCode ErrorCodeFor(const bson_error_t& error);
bool IsDuplicateKey(const bson_error_t& error);

// Throws the Error for a failed driver call; `what` says what was being done ("insert into
// particles"). An unreachable server reads "cannot reach MongoDB at HOST:PORT within 5 s: ...".
[[noreturn]] void ThrowMongoError(const MongoTarget& target,
                                  const bson_error_t& error,
                                  std::string_view what);

// ---------------------------------------------------------------------------------------------
// BSON documents

// Appends fields to a document it does not own. In an array, the keys are NextIndex().
class BsonBuilder {
 public:
  explicit BsonBuilder(bson_t* doc) : doc_(doc) {}

  BsonBuilder& Utf8(std::string_view key, std::string_view value);
  BsonBuilder& Utf8OrNull(std::string_view key, std::string_view value);  // "" → null
  BsonBuilder& Int32(std::string_view key, int32_t value);
  BsonBuilder& Int64(std::string_view key, int64_t value);
  BsonBuilder& Double(std::string_view key, double value);        // NaN and ±∞ kept as such
  BsonBuilder& DoubleOrNull(std::string_view key, double value);  // NaN → null
  BsonBuilder& OptionalDouble(std::string_view key, std::optional<double> value);
  BsonBuilder& OptionalInt64(std::string_view key, std::optional<int64_t> value);
  BsonBuilder& Bool(std::string_view key, bool value);
  BsonBuilder& Null(std::string_view key);
  BsonBuilder& Binary(std::string_view key, std::span<const uint8_t> bytes);
  BsonBuilder& BinaryOrNull(std::string_view key, std::span<const uint8_t> bytes);  // empty → null
  BsonBuilder& DateTime(std::string_view key, int64_t ms_since_epoch);
  BsonBuilder& CopyDocument(std::string_view key, const bson_t* document);
  BsonBuilder& CopyArray(std::string_view key, const bson_t* array);

  // Builds a sub-document (or array) in place: fill(BsonBuilder&) appends its fields.
  template <typename Fill>
  BsonBuilder& Document(std::string_view key, Fill&& fill) {
    bson_t child;
    CheckAppend(bson_append_document_begin(doc_, key.data(), KeyLength(key), &child), key);
    BsonBuilder builder(&child);
    fill(builder);
    CheckAppend(bson_append_document_end(doc_, &child), key);
    return *this;
  }
  template <typename Fill>
  BsonBuilder& Array(std::string_view key, Fill&& fill) {
    bson_t child;
    CheckAppend(bson_append_array_begin(doc_, key.data(), KeyLength(key), &child), key);
    BsonBuilder builder(&child);
    fill(builder);
    CheckAppend(bson_append_array_end(doc_, &child), key);
    return *this;
  }

  // The key of the next array element: "0", "1", ... Valid until the next call.
  std::string_view NextIndex();

  bson_t* Get() const { return doc_; }

 protected:
  static int KeyLength(std::string_view key) { return static_cast<int>(key.size()); }
  static void CheckAppend(bool ok, std::string_view key);

  bson_t* doc_;

 private:
  uint32_t next_index_ = 0;
  char index_key_[16] = {};
};

// An owned document (heap-allocated, so moving it keeps pointers into it valid).
class Bson : public BsonBuilder {
 public:
  Bson() : BsonBuilder(bson_new()) {}
  explicit Bson(const bson_t* copy_of) : BsonBuilder(bson_copy(copy_of)) {}
  Bson(Bson&& other) noexcept : BsonBuilder(std::exchange(other.doc_, nullptr)) {}
  Bson& operator=(Bson&& other) noexcept {
    std::swap(doc_, other.doc_);
    return *this;
  }
  Bson(const Bson&) = delete;
  Bson& operator=(const Bson&) = delete;
  ~Bson() {
    if (doc_ != nullptr) {
      bson_destroy(doc_);
    }
  }

  // Empties the document for reuse.
  void Reset() { bson_reinit(doc_); }
  size_t SizeBytes() const { return doc_->len; }
  // Relaxed extended JSON, for messages.
  std::string ToJson() const;
};

// Reading: each helper checks the BSON type and throws Error{kInternal} naming `what` (the
// field, with the sample it belongs to) when the stored document is not what phytoflow writes.
std::string_view Key(const bson_iter_t& iter);
std::string ReadUtf8(const bson_iter_t& iter, std::string_view what);  // null → ""
double ReadDouble(const bson_iter_t& iter, std::string_view what);     // null → NaN
std::optional<double> ReadOptionalDouble(const bson_iter_t& iter, std::string_view what);
int64_t ReadInt64(const bson_iter_t& iter, std::string_view what);
std::optional<int64_t> ReadOptionalInt64(const bson_iter_t& iter, std::string_view what);
std::vector<uint8_t> ReadBinary(const bson_iter_t& iter, std::string_view what);  // null → {}
// The fields of a sub-document or array.
bson_iter_t ReadChildren(const bson_iter_t& iter, std::string_view what);
// The field `key` of `doc`, or nullopt.
std::optional<bson_iter_t> FindField(const bson_t* doc, const char* key);

// ---------------------------------------------------------------------------------------------
// Driver handles

class MongoCursor {
 public:
  MongoCursor(mongoc_cursor_t* cursor, const MongoTarget& target, std::string what)
      : cursor_(cursor), target_(target), what_(std::move(what)) {}
  MongoCursor(MongoCursor&& other) noexcept
      : cursor_(std::exchange(other.cursor_, nullptr)),
        target_(other.target_),
        what_(std::move(other.what_)) {}
  MongoCursor& operator=(MongoCursor&&) = delete;
  MongoCursor(const MongoCursor&) = delete;
  MongoCursor& operator=(const MongoCursor&) = delete;
  ~MongoCursor() { mongoc_cursor_destroy(cursor_); }

  // The next document (valid until the next call), or nullptr at the end. Throws on failure.
  const bson_t* Next();

 private:
  mongoc_cursor_t* cursor_;
  const MongoTarget& target_;
  std::string what_;
};

class MongoCollection {
 public:
  MongoCollection(mongoc_collection_t* collection, const MongoTarget& target)
      : collection_(collection), target_(target) {}
  MongoCollection(MongoCollection&& other) noexcept
      : collection_(std::exchange(other.collection_, nullptr)), target_(other.target_) {}
  MongoCollection& operator=(MongoCollection&&) = delete;
  MongoCollection(const MongoCollection&) = delete;
  MongoCollection& operator=(const MongoCollection&) = delete;
  ~MongoCollection() { mongoc_collection_destroy(collection_); }

  std::string_view Name() const { return mongoc_collection_get_name(collection_); }
  mongoc_collection_t* Get() const { return collection_; }
  const MongoTarget& Target() const { return target_; }

  void InsertOne(const Bson& document, const bson_t* options = nullptr);
  std::optional<Bson> FindOne(const Bson& filter, const bson_t* projection = nullptr);
  // `options`: sort, projection, batchSize... as the find command takes them.
  MongoCursor Find(const Bson& filter, const Bson& options);
  MongoCursor Aggregate(const Bson& pipeline);
  // Return the server's matchedCount / deletedCount.
  int64_t UpdateOne(const Bson& filter, const Bson& update, bool upsert = false);
  int64_t ReplaceOne(const Bson& filter, const Bson& replacement, const bson_t* options = nullptr);
  // findAndModify: updates (or with `upsert` inserts) one document and returns it as it is after
  // the update; nullopt when none matched and none was inserted.
  std::optional<Bson> FindOneAndUpdate(const Bson& filter, const Bson& update, bool upsert);
  int64_t DeleteOne(const Bson& filter);
  int64_t DeleteMany(const Bson& filter);
  int64_t Count(const Bson& filter);
  // The distinct string values of `key` (the distinct command).
  std::vector<std::string> DistinctStrings(const char* key);
  // A command on this collection's database (createIndexes...), with its reply.
  Bson RunCommand(const Bson& command);

 private:
  [[noreturn]] void Fail(const bson_error_t& error, std::string_view operation) const;

  mongoc_collection_t* collection_;
  const MongoTarget& target_;
};

// Unordered bulk inserts into one collection, sent every kMaxDocuments documents or kMaxBytes
// bytes: few round trips, and a batch well under the server's 48 MB message limit.
class BulkInsert {
 public:
  static constexpr size_t kMaxDocuments = 1000;
  static constexpr size_t kMaxBytes = size_t{8} << 20;

  explicit BulkInsert(const MongoCollection& collection) : collection_(collection) {}
  BulkInsert(const BulkInsert&) = delete;
  BulkInsert& operator=(const BulkInsert&) = delete;
  ~BulkInsert() { mongoc_bulk_operation_destroy(bulk_); }

  // Queues a copy of `document`; returns true when this sent the batch.
  bool Add(const Bson& document);
  // Sends what is queued. Throws on failure (a duplicate key is kConflict).
  void Flush();

 private:
  const MongoCollection& collection_;
  mongoc_bulk_operation_t* bulk_ = nullptr;
  size_t documents_ = 0;
  size_t bytes_ = 0;
};

// A client taken from the pool for the duration of one store call (or one writer); given back
// on destruction. Collections and cursors made from it must go first.
class MongoClient {
 public:
  MongoClient(mongoc_client_pool_t* pool, const std::string& database, const MongoTarget& target)
      : pool_(pool), client_(mongoc_client_pool_pop(pool)), database_(database), target_(target) {}
  MongoClient(MongoClient&& other) noexcept
      : pool_(other.pool_),
        client_(std::exchange(other.client_, nullptr)),
        database_(other.database_),
        target_(other.target_) {}
  MongoClient& operator=(MongoClient&&) = delete;
  MongoClient(const MongoClient&) = delete;
  MongoClient& operator=(const MongoClient&) = delete;
  ~MongoClient() {
    if (client_ != nullptr) {
      mongoc_client_pool_push(pool_, client_);
    }
  }

  MongoCollection Collection(const char* name) const {
    return MongoCollection(mongoc_client_get_collection(client_, database_.c_str(), name), target_);
  }
  // Sends `ping`: throws Error{kUnavailable} when no server answers within the bound.
  void Ping() const;

 private:
  mongoc_client_pool_t* pool_;
  mongoc_client_t* client_;
  const std::string& database_;
  const MongoTarget& target_;
};

// The database a URI names, with the client pool that reaches it.
class MongoDatabase {
 public:
  // Parses `uri` (Error{kInvalidInput} when malformed or without database name) and adds the
  // default timeouts it does not set. Connects lazily: the first call that needs the server does.
  explicit MongoDatabase(const std::string& uri);
  ~MongoDatabase();
  MongoDatabase(const MongoDatabase&) = delete;
  MongoDatabase& operator=(const MongoDatabase&) = delete;

  MongoClient Connect() const { return MongoClient(pool_, name_, target_); }
  const std::string& Name() const { return name_; }
  const MongoTarget& Target() const { return target_; }

 private:
  mongoc_uri_t* uri_ = nullptr;
  mongoc_client_pool_t* pool_ = nullptr;
  std::string name_;
  MongoTarget target_;
};

// `message` with every secret of `uri` (its password, values of *password* options, also
// percent-decoded) replaced by "***": for driver messages that may quote the URI.
std::string HideUriSecrets(std::string_view message, std::string_view uri);

// A fresh random id: 32 hex digits (128 bits).
std::string NewRandomId();
// Milliseconds since the Unix epoch, for BSON dates.
int64_t NowMs();

}  // namespace phytoflow::detail
