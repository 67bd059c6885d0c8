// What the MongoDB store promises beyond the Store contract (store_contract_test.cpp runs that
// against MongoDB too): a killed ingest leaves no visible half sample and a re-run completes it;
// a replacement stays invisible until its commit; an unreachable server fails in bounded time
// without showing the password; garbage collection removes exactly what crashed writes left;
// `store copy` round-trips SQLite → MongoDB → SQLite. The server is the one named by
// PHYTOFLOW_TEST_MONGO_URI; without it these tests fail and say how to start one.

#include "phytoflow/storage/mongo/mongo_store.h"

#include "phytoflow/app/ingest.h"
#include "phytoflow/app/store_copy.h"
#include "phytoflow/core/error.h"
#include "phytoflow/storage/sqlite/sqlite_store.h"

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include "testing/mongo_test_server.h"
#include "testing/synthetic_export.h"
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <mongoc/mongoc.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace phytoflow {
namespace {
namespace fs = std::filesystem;
using fixtures::CountMongoDocuments;
using fixtures::TempDir;
using fixtures::WriteSyntheticExport;

// Everything a user could see in a store.
struct StoreState {
  std::vector<Sample> samples;  // as FindSample gives them (files and context included)
  std::vector<std::vector<Particle>> particles;
  std::vector<std::vector<Label>> labels;
  bool operator==(const StoreState&) const = default;
};

StoreState Snapshot(const Store& store) {
  StoreState state;
  for (const Sample& listed : store.ListSamples()) {
    state.samples.push_back(*store.FindSample(listed.id));
    std::vector<Particle> particles;
    store.ScanParticles(listed.id,
                        {.images = true, .outlines = true},
                        [&](const Particle& particle) { particles.push_back(particle); });
    state.particles.push_back(std::move(particles));
    state.labels.push_back(store.Labels(listed.id));
  }
  return state;
}

// Runs `action` and returns the Error it throws (a failure if it throws none).
Error ErrorOf(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    return error;
  }
  ADD_FAILURE() << "expected an Error, nothing was thrown";
  return Error(ErrorCode::kInternal, "nothing thrown");
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A loopback port on which nothing listens: bound, then closed.
int ClosedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), length), 0);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  close(fd);
  return ntohs(address.sin_port);
}

// Every test works in a database of its own, dropped afterwards.
class MongoStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::optional<std::string> server = fixtures::TestMongoUri();
    if (!server) {
      GTEST_FAIL() << fixtures::NoMongoServerMessage();
    }
    // The temp folder's random name makes the database name unique.
    uri_ = fixtures::WithDatabase(*server, "phytoflow-" + temp_.Path().filename().string());
  }
  void TearDown() override {
    if (!uri_.empty()) {
      fixtures::DropMongoDatabase(uri_);
    }
  }

  int64_t Count(const std::string& collection, const std::string& filter = "{}") const {
    return CountMongoDocuments(uri_, collection, filter);
  }

  // Changes documents behind the store's back, as another version of phytoflow would have
  // written them. Takes ownership of `filter` and `update`.
  void UpdateMany(const char* collection_name, bson_t* filter, bson_t* update) const {
    mongoc_client_t* client = mongoc_client_new(uri_.c_str());
    mongoc_collection_t* collection = mongoc_client_get_collection(
        client, mongoc_uri_get_database(mongoc_client_get_uri(client)), collection_name);
    bson_error_t error;
    EXPECT_TRUE(mongoc_collection_update_many(collection, filter, update, nullptr, nullptr, &error))
        << error.message;
    bson_destroy(update);
    bson_destroy(filter);
    mongoc_collection_destroy(collection);
    mongoc_client_destroy(client);
  }

  TempDir temp_;
  std::string uri_;
};

TEST_F(MongoStoreTest, KillMinus9MidIngestLeavesNoHalfSampleAndRerunCompletes) {
  WriteSyntheticExport(temp_.Path() / "good", {.run_name = "good", .particles = 20});
  WriteSyntheticExport(temp_.Path() / "big", {.run_name = "big", .particles = 2000});
  StoreState before;
  {
    std::unique_ptr<Store> store = OpenMongoStore(uri_);
    IngestExport(*store, temp_.Path() / "good", {});
    before = Snapshot(*store);
  }  // closed before fork(): the child must not share the driver's threads or sockets

  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Killed after 1024 particles were handed to the writer (4 batches of 256).
    auto store = OpenMongoStore(uri_);
    IngestExport(*store, temp_.Path() / "big", {.on_progress = [](const IngestProgress& progress) {
      if (progress.done >= 1024) {
        raise(SIGKILL);
      }
    }});
    _exit(0);  // not reached
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

  // The bulk writer sends every 1000 documents, so of the 1024 particles 1000 reached the server
  // (each with one image document), the last 24 died with the process. 20 + 1000 = 1020.
  EXPECT_EQ(Count("particles"), 1020);
  EXPECT_EQ(Count("images"), 1020);
  EXPECT_EQ(Count("pending_writes"), 1);

  // None of it is visible, not even after opening again (the write is younger than an hour, so
  // the garbage collection at open leaves it alone).
  std::unique_ptr<Store> store = OpenMongoStore(uri_);
  EXPECT_EQ(Snapshot(*store), before);
  EXPECT_FALSE(store->FindSample("big").has_value());
  EXPECT_EQ(Count("particles"), 1020);

  // Running it again completes it.
  const std::vector<IngestReport> reports = IngestExport(*store, temp_.Path() / "big", {});
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].outcome, IngestOutcome::kIngested);
  EXPECT_EQ(store->FindSample("big")->particle_count, 2000);
  EXPECT_EQ(Count("particles"), 20 + 1000 + 2000);

  // Garbage collection removes exactly the 1000 particles and 1000 images of the dead write.
  const MongoGarbageReport removed =
      CollectMongoGarbage(uri_, {.stale_after = std::chrono::seconds(0)});
  EXPECT_EQ(removed, (MongoGarbageReport{.writes = 1, .particles = 1000, .images = 1000}));
  EXPECT_EQ(Count("particles"), 20 + 2000);
  EXPECT_EQ(Count("images"), 20 + 2000);
  EXPECT_EQ(Count("pending_writes"), 0);
  StoreState after = Snapshot(*store);
  ASSERT_EQ(after.samples.size(), 2u);
  EXPECT_EQ(after.particles[1].size(), 2000u);
  after.samples.pop_back();
  after.particles.pop_back();
  after.labels.pop_back();
  EXPECT_EQ(after, before);
  // Nothing is left for a second collection.
  EXPECT_EQ(CollectMongoGarbage(uri_, {.stale_after = std::chrono::seconds(0)}),
            MongoGarbageReport{});
}

Particle SmallParticle(int64_t number) {
  Particle particle;
  particle.number = number;
  particle.collage_file = "page.tif";
  particle.esd_um = 10.0 + static_cast<double>(number);
  particle.measurements = {static_cast<double>(number)};
  return particle;
}

Sample SmallSample(const std::string& id, const std::string& fingerprint) {
  Sample sample;
  sample.id = id;
  sample.fingerprint = fingerprint;
  sample.measurement_names = {"Area (ABD)"};
  sample.ingested_at = "2024-01-01T00:00:00Z";
  return sample;
}

TEST_F(MongoStoreTest, ReplaceKeepsTheOldSampleVisibleUntilCommit) {
  std::unique_ptr<Store> writer_store = OpenMongoStore(uri_);
  Sample old_sample = SmallSample("s", "old");
  old_sample.particle_count = 3;
  std::vector<Particle> old_particles = {SmallParticle(1), SmallParticle(2), SmallParticle(3)};
  old_particles[0].image_png = {1, 2, 3};
  const Label old_label{.particle_number = 2, .name = "Old", .source = "VisualSpreadsheet"};
  {
    auto writer = writer_store->BeginSample(old_sample, WriteMode::kCreate);
    writer->AddParticles(old_particles);
    writer->AddLabels(std::span(&old_label, 1));
    writer->Commit(old_sample);
  }
  // Another client of the same database, as another process would be.
  std::unique_ptr<Store> reader = OpenMongoStore(uri_);
  const StoreState old_state = Snapshot(*reader);

  Sample new_sample = SmallSample("s", "new");
  new_sample.particle_count = 2500;
  std::vector<Particle> new_particles;
  for (int64_t number = 1; number <= 2500; ++number) {
    new_particles.push_back(SmallParticle(number));
  }
  const Label new_label{.particle_number = 7, .name = "New", .source = "VisualSpreadsheet"};
  auto writer = writer_store->BeginSample(new_sample, WriteMode::kReplace);
  writer->AddParticles(new_particles);
  writer->AddLabels(std::span(&new_label, 1));

  // 2000 of the new particles are on the server (two batches of 1000), yet readers see the old
  // sample, its 3 particles and its label, and the old fingerprint still finds it.
  EXPECT_EQ(Count("particles"), 3 + 2000);
  EXPECT_EQ(Snapshot(*reader), old_state);
  EXPECT_EQ(reader->FindSampleByFingerprint("old")->id, "s");
  EXPECT_FALSE(reader->FindSampleByFingerprint("new").has_value());

  writer->Commit(new_sample);
  writer.reset();
  EXPECT_EQ(reader->FindSample("s")->fingerprint, "new");
  int64_t scanned = 0;
  reader->ScanParticles("s", {}, [&](const Particle&) { ++scanned; });
  EXPECT_EQ(scanned, 2500);
  EXPECT_EQ(reader->Labels("s"), std::vector<Label>{new_label});
  // The old data went with the commit: only the new particles and the one new label are left.
  EXPECT_EQ(Count("particles"), 2500);
  EXPECT_EQ(Count("images"), 0);
  EXPECT_EQ(Count("labels"), 1);
  EXPECT_EQ(Count("pending_writes"), 0);
}

TEST_F(MongoStoreTest, ReplacedLabelsAreKeptInLabelHistory) {
  std::unique_ptr<Store> store = OpenMongoStore(uri_);
  const Sample sample = SmallSample("s", "fp");
  const std::vector<Label> first = {
      {.particle_number = 1, .name = "A", .source = "model", .classification = "v", .author = "x"},
      {.particle_number = 2, .name = "B", .source = "model", .classification = "v", .author = "x"},
  };
  {
    auto writer = store->BeginSample(sample, WriteMode::kCreate);
    writer->AddParticles(std::vector<Particle>{SmallParticle(1), SmallParticle(2)});
    writer->AddLabels(first);
    writer->Commit(sample);
  }
  const Label second{
      .particle_number = 1, .name = "C", .source = "model", .classification = "v", .author = "y"};
  store->ReplaceLabels("s", "model", "v", std::span(&second, 1));
  store->ReplaceLabels("s", "model", "v", {});

  EXPECT_TRUE(store->Labels("s").empty());
  // 2 labels replaced by the first call, 1 by the second: 3 history entries, none in labels.
  EXPECT_EQ(Count("label_history", R"({"sample_id": "s"})"), 3);
  EXPECT_EQ(Count("label_history", R"({"name": "C", "author": "y"})"), 1);
  EXPECT_EQ(Count("labels"), 0);
  EXPECT_EQ(Count("pending_writes"), 0);
  // A deleted sample takes its history with it.
  EXPECT_TRUE(store->DeleteSample("s"));
  EXPECT_EQ(Count("label_history"), 0);
  EXPECT_EQ(Count("particles"), 0);
}

TEST_F(MongoStoreTest, GarbageCollectionSparesLiveWrites) {
  std::unique_ptr<Store> store = OpenMongoStore(uri_);
  const Sample sample = SmallSample("s", "fp");
  std::vector<Particle> particles;
  for (int64_t number = 1; number <= 1500; ++number) {
    particles.push_back(SmallParticle(number));
  }
  auto writer = store->BeginSample(sample, WriteMode::kCreate);
  writer->AddParticles(particles);
  EXPECT_EQ(Count("particles"), 1000);  // one batch sent, 500 queued
  // Not stale (younger than an hour): nothing is removed, and the write commits whole.
  EXPECT_EQ(CollectMongoGarbage(uri_), MongoGarbageReport{});
  writer->Commit(sample);
  writer.reset();
  EXPECT_EQ(Count("particles"), 1500);

  // With --older-than 0 a live write is fair game: the collection claims it, and its commit
  // then refuses to show a hole.
  writer = store->BeginSample(SmallSample("t", "fp-t"), WriteMode::kCreate);
  writer->AddParticles(particles);
  const MongoGarbageReport removed =
      CollectMongoGarbage(uri_, {.stale_after = std::chrono::seconds(0)});
  EXPECT_EQ(removed, (MongoGarbageReport{.writes = 1, .particles = 1000}));
  const Error refused = ErrorOf([&] { writer->Commit(SmallSample("t", "fp-t")); });
  EXPECT_EQ(refused.Code(), ErrorCode::kConflict);
  EXPECT_NE(std::string(refused.what()).find("garbage collection removed this write"),
            std::string::npos)
      << refused.what();
  writer.reset();
  EXPECT_FALSE(store->FindSample("t").has_value());
  EXPECT_EQ(Count("particles"), 1500);  // only those of "s": none of the 1000 + 500 of "t"
  EXPECT_EQ(Count("pending_writes"), 0);
}

TEST_F(MongoStoreTest, GarbageCollectionLeavesACommittingWriteToItsWriter) {
  std::unique_ptr<Store> store = OpenMongoStore(uri_);
  const Sample sample = SmallSample("s", "fp");
  std::vector<Particle> particles;
  for (int64_t number = 1; number <= 1500; ++number) {
    particles.push_back(SmallParticle(number));
  }
  auto writer = store->BeginSample(sample, WriteMode::kCreate);
  writer->AddParticles(particles);
  ASSERT_EQ(Count("particles"), 1000);
  // The state the writer's commit is in between its mark and its flip.
  UpdateMany("pending_writes",
             BCON_NEW("kind", "sample"),
             BCON_NEW("$set", "{", "state", BCON_UTF8("committing"), "}"));
  EXPECT_EQ(CollectMongoGarbage(uri_, {.stale_after = std::chrono::seconds(0)}),
            MongoGarbageReport{});
  writer->Commit(sample);
  writer.reset();
  int64_t scanned = 0;
  store->ScanParticles("s", {}, [&](const Particle&) { ++scanned; });
  EXPECT_EQ(scanned, 1500);
  EXPECT_EQ(Count("pending_writes"), 0);

  // A write that died while committing is collected once it is older than an hour.
  writer = store->BeginSample(SmallSample("t", "fp-t"), WriteMode::kCreate);
  writer->AddParticles(particles);  // 1000 sent
  const int64_t two_hours_ago_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          (std::chrono::system_clock::now() - std::chrono::hours(2)).time_since_epoch())
          .count();
  UpdateMany("pending_writes",
             BCON_NEW("sample_id", "t"),
             BCON_NEW("$set",
                      "{",
                      "state",
                      BCON_UTF8("committing"),
                      "updated_at",
                      BCON_DATE_TIME(two_hours_ago_ms),
                      "}"));
  EXPECT_EQ(CollectMongoGarbage(uri_), (MongoGarbageReport{.writes = 1, .particles = 1000}));
  EXPECT_EQ(ErrorOf([&] { writer->Commit(SmallSample("t", "fp-t")); }).Code(),
            ErrorCode::kConflict);
  writer.reset();
  EXPECT_FALSE(store->FindSample("t").has_value());
  EXPECT_EQ(Count("particles"), 1500);
}

TEST_F(MongoStoreTest, ScanOfASampleReplacedOrDeletedMeanwhileIsAConflict) {
  std::unique_ptr<Store> reader = OpenMongoStore(uri_);
  std::unique_ptr<Store> writer_store = OpenMongoStore(uri_);  // as another process
  const auto write = [&](const std::string& fingerprint, int64_t count) {
    Sample sample = SmallSample("s", fingerprint);
    std::vector<Particle> particles;
    for (int64_t number = 1; number <= count; ++number) {
      particles.push_back(SmallParticle(number));
    }
    auto writer = writer_store->BeginSample(sample, WriteMode::kReplace);
    writer->AddParticles(particles);
    writer->Commit(sample);
  };
  write("old", 2500);

  // Replaced while the reader is at its first particle: the old particles are deleted under it.
  int64_t scanned = 0;
  const Error replaced = ErrorOf([&] {
    reader->ScanParticles("s", {}, [&](const Particle&) {
      if (scanned++ == 0) {
        write("new", 3);
      }
    });
  });
  EXPECT_EQ(replaced.Code(), ErrorCode::kConflict);
  EXPECT_NE(std::string(replaced.what()).find("read it again"), std::string::npos)
      << replaced.what();
  // Reading again gives the new sample whole: particles 1, 2, 3.
  std::vector<int64_t> numbers;
  reader->ScanParticles(
      "s", {}, [&](const Particle& particle) { numbers.push_back(particle.number); });
  EXPECT_EQ(numbers, (std::vector<int64_t>{1, 2, 3}));

  scanned = 0;
  EXPECT_EQ(ErrorOf([&] {
              reader->ScanParticles("s", {}, [&](const Particle&) {
                if (scanned++ == 0) {
                  EXPECT_TRUE(writer_store->DeleteSample("s"));
                }
              });
            }).Code(),
            ErrorCode::kConflict);
}

TEST_F(MongoStoreTest, LabelFlipWhoseReplyIsLostKeepsTheNewLabels) {
  std::unique_ptr<Store> store = OpenMongoStore(uri_);
  const Sample sample = SmallSample("s", "fp");
  const Label old_label{
      .particle_number = 1, .name = "A", .source = "model", .classification = "v", .author = "x"};
  {
    auto writer = store->BeginSample(sample, WriteMode::kCreate);
    writer->AddParticles(std::vector<Particle>{SmallParticle(1), SmallParticle(2)});
    writer->AddLabels(std::span(&old_label, 1));
    writer->Commit(sample);
  }
  const std::vector<Label> new_labels = {
      {.particle_number = 1, .name = "B", .source = "model", .classification = "v", .author = "y"},
      {.particle_number = 2, .name = "C", .source = "model", .classification = "v", .author = "y"},
  };
  // The server applied the flip, then the connection failed before its reply arrived.
  detail::SetAfterLabelFlipHookForTesting(
      [] { throw Error(ErrorCode::kUnavailable, "simulated: connection lost after the flip"); });
  store->ReplaceLabels("s", "model", "v", new_labels);
  detail::SetAfterLabelFlipHookForTesting({});

  // Done, not undone: the two new labels are shown and stored, the old one only in history.
  EXPECT_EQ(store->Labels("s"), new_labels);
  EXPECT_EQ(Count("labels"), 2);
  EXPECT_EQ(Count("label_history", R"({"name": "A"})"), 1);
  EXPECT_EQ(Count("pending_writes"), 0);
  // And nothing is left for garbage collection to take.
  EXPECT_EQ(CollectMongoGarbage(uri_, {.stale_after = std::chrono::seconds(0)}),
            MongoGarbageReport{});
  EXPECT_EQ(store->Labels("s"), new_labels);
}

TEST_F(MongoStoreTest, LabelFlipNotAppliedIsUndone) {
  std::unique_ptr<Store> store = OpenMongoStore(uri_);
  const Sample sample = SmallSample("s", "fp");
  const Label old_label{
      .particle_number = 1, .name = "A", .source = "model", .classification = "v", .author = "x"};
  {
    auto writer = store->BeginSample(sample, WriteMode::kCreate);
    writer->AddParticles(std::vector<Particle>{SmallParticle(1)});
    writer->AddLabels(std::span(&old_label, 1));
    writer->Commit(sample);
  }
  // The update fails with a network error and the sample does not show the new set: undone. (The
  // hook empties label_sets, so that the sample shows no new set, as if the flip never arrived.)
  detail::SetAfterLabelFlipHookForTesting([&] {
    UpdateMany("samples", BCON_NEW("_id", "s"), BCON_NEW("$set", "{", "label_sets", "[", "]", "}"));
    throw Error(ErrorCode::kUnavailable, "simulated: connection lost");
  });
  const Label new_label{
      .particle_number = 1, .name = "B", .source = "model", .classification = "v", .author = "y"};
  const Error failed =
      ErrorOf([&] { store->ReplaceLabels("s", "model", "v", std::span(&new_label, 1)); });
  detail::SetAfterLabelFlipHookForTesting({});
  EXPECT_EQ(failed.Code(), ErrorCode::kUnavailable);
  // The new set and its history copy are gone; the old set is kept (only gc judges it).
  EXPECT_EQ(Count("labels", R"({"name": "B"})"), 0);
  EXPECT_EQ(Count("labels", R"({"name": "A"})"), 1);
  EXPECT_EQ(Count("label_history"), 0);
  EXPECT_EQ(Count("pending_writes"), 0);
}

TEST_F(MongoStoreTest, RepeatedParticleNumberConflictsAndLeavesNothing) {
  std::unique_ptr<Store> store = OpenMongoStore(uri_);
  const Sample sample = SmallSample("s", "fp");
  auto writer = store->BeginSample(sample, WriteMode::kCreate);
  writer->AddParticles(std::vector<Particle>{SmallParticle(1), SmallParticle(1)});
  // The batch is sent at the latest by Commit; the unique (data_id, number) index refuses it.
  EXPECT_EQ(ErrorOf([&] { writer->Commit(sample); }).Code(), ErrorCode::kConflict);
  writer.reset();
  EXPECT_FALSE(store->FindSample("s").has_value());
  EXPECT_EQ(Count("particles"), 0);
  EXPECT_EQ(Count("pending_writes"), 0);
}

TEST_F(MongoStoreTest, NewerSchemaIsRefused) {
  OpenMongoStore(uri_).reset();
  EXPECT_EQ(Count("phytoflow_schema", R"({"_id": "schema", "version": 2})"), 1);
  // Raise the version as a future phytoflow would.
  UpdateMany("phytoflow_schema",
             BCON_NEW("_id", BCON_UTF8("schema")),
             BCON_NEW("$set", "{", "version", BCON_INT32(99), "}"));

  const Error error_opening = ErrorOf([&] { OpenMongoStore(uri_); });
  EXPECT_EQ(error_opening.Code(), ErrorCode::kUnavailable);
  EXPECT_NE(std::string(error_opening.what()).find("schema version 99 is newer"), std::string::npos)
      << error_opening.what();
}

// Schema version 1 kept expert labels in label sets like any other source. Opening such a
// database moves them to expert_labels as validated events, in the order they were written.
TEST_F(MongoStoreTest, AVersionOneDatabaseGetsItsExpertLabelsAsEvents) {
  const Sample sample = SmallSample("s", "fp");
  const std::vector<Label> labels = {
      {.particle_number = 2, .name = "B", .source = "legacy", .classification = "ecotaxa"},
      {.particle_number = 1, .name = "A", .source = "legacy", .classification = "ecotaxa"},
      {.particle_number = 1, .name = "Junk", .source = "VisualSpreadsheet", .classification = "c"},
  };
  {
    std::unique_ptr<Store> store = OpenMongoStore(uri_);
    auto writer = store->BeginSample(sample, WriteMode::kCreate);
    writer->AddParticles(std::vector<Particle>{SmallParticle(1), SmallParticle(2)});
    writer->AddLabels(labels);
    writer->Commit(sample);
  }
  // What version 1 wrote for labels of source "expert": a label set and label documents.
  UpdateMany("samples",
             BCON_NEW("label_sets.source", BCON_UTF8("legacy")),
             BCON_NEW("$set", "{", "label_sets.$.source", BCON_UTF8("expert"), "}"));
  UpdateMany("labels",
             BCON_NEW("source", BCON_UTF8("legacy")),
             BCON_NEW("$set", "{", "source", BCON_UTF8("expert"), "}"));
  UpdateMany("phytoflow_schema",
             BCON_NEW("_id", BCON_UTF8("schema")),
             BCON_NEW("$set", "{", "version", BCON_INT32(1), "}"));
  ASSERT_EQ(Count("labels", R"({"source": "expert"})"), 2);

  std::unique_ptr<Store> store = OpenMongoStore(uri_);
  EXPECT_EQ(Count("phytoflow_schema", R"({"_id": "schema", "version": 2})"), 1);
  EXPECT_EQ(Count("labels", R"({"source": "expert"})"), 0);
  EXPECT_EQ(Count("samples", R"({"label_sets.source": "expert"})"), 0);
  EXPECT_EQ(Count("expert_labels"), 1);  // one batch
  // Numbered in the order written: particle 2's label first.
  Label first = labels[1];
  first.source = kLabelSourceExpert;
  first.sequence = 2;
  Label second = labels[0];
  second.source = kLabelSourceExpert;
  second.sequence = 1;
  EXPECT_EQ(store->Labels("s"), (std::vector<Label>{labels[2], first, second}));
  // The next event follows them.
  Label next = first;
  next.name = "C";
  EXPECT_EQ(store->AppendExpertLabels("s", std::span(&next, 1)), std::vector<int64_t>{3});
  // Opening again changes nothing more.
  store.reset();
  store = OpenMongoStore(uri_);
  EXPECT_EQ(store->LabelHistory("s", 1).size(), 3u);
}

TEST_F(MongoStoreTest, StoreCopyRoundTripsSqliteMongoSqlite) {
  // A SQLite store with two runs, images, masks, outlines, VisualSpreadsheet labels, a model's
  // predictions with top-k, metadata and a calibration file.
  WriteSyntheticExport(temp_.Path() / "one", {.run_name = "one", .particles = 300});
  WriteSyntheticExport(temp_.Path() / "two",
                       {.run_name = "two", .particles = 40, .seed = 2, .masks = false});
  std::unique_ptr<Store> first = OpenSqliteStore(temp_.Path() / "first.db");
  IngestExport(*first, temp_.Path() / "one", {});
  IngestExport(*first, temp_.Path() / "two", {});
  const Label prediction{.particle_number = 3,
                         .name = "Diatom",
                         .source = "model",
                         .classification = "m-1",
                         .author = "phytoflow",
                         .created_at = "2024-01-01T00:00:00Z",
                         .probability = 0.75,
                         .top_k = {{"Diatom", 0.75}, {"Other", 0.25}}};
  first->ReplaceLabels("one", "model", "m-1", std::span(&prediction, 1));
  // Expert labels: one validated, one dubious; the copy keeps their status.
  Label validated{.particle_number = 5,
                  .name = "Diatom",
                  .source = kLabelSourceExpert,
                  .classification = "phytoflow",
                  .author = "Jane Doe",
                  .created_at = "2024-01-02T00:00:00Z"};
  Label dubious = validated;
  dubious.particle_number = 6;
  dubious.status = ExpertStatus::kDubious;
  first->AppendExpertLabels("one", std::vector<Label>{validated, dubious});
  SampleMetadata metadata;
  metadata.station = "W08";
  metadata.latitude = 51.25;
  metadata.environment = {{"chlorophyll_ug_per_l", 2.5}};
  first->UpdateSampleMetadata("two", metadata);
  const StoreState original = Snapshot(*first);
  ASSERT_EQ(original.samples.size(), 2u);

  std::unique_ptr<Store> mongo = OpenMongoStore(uri_);
  const StoreCopyReport to_mongo = CopyStore(*first, *mongo);
  EXPECT_EQ(to_mongo.copied, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(to_mongo.particles, 340);
  EXPECT_EQ(to_mongo.images, 340);
  EXPECT_EQ(to_mongo.masks, 300);  // run "two" has no masks
  EXPECT_EQ(Snapshot(*mongo), original);

  std::unique_ptr<Store> second = OpenSqliteStore(temp_.Path() / "second.db");
  const StoreCopyReport back = CopyStore(*mongo, *second);
  EXPECT_EQ(back.checksum, to_mongo.checksum);
  EXPECT_EQ(back.labels, to_mongo.labels);
  EXPECT_EQ(Snapshot(*second), original);

  // Copying again skips every sample: same fingerprints are already there.
  const StoreCopyReport again = CopyStore(*first, *mongo);
  EXPECT_TRUE(again.copied.empty());
  ASSERT_EQ(again.skipped.size(), 2u);
  EXPECT_EQ(again.skipped[0].existing_id, "one");
}

TEST(MongoStoreUnreachable, ClosedPortFailsWithinTheBound) {
  const int port = ClosedPort();
  const std::string uri =
      "mongodb://analyst:s3cr%40t@127.0.0.1:" + std::to_string(port) + "/phytoflow";
  const auto start = std::chrono::steady_clock::now();
  const Error error = ErrorOf([&] { OpenMongoStore(uri); });
  const double seconds = SecondsSince(start);
  EXPECT_EQ(error.Code(), ErrorCode::kUnavailable);
  const std::string message = error.what();
  EXPECT_NE(
      message.find("cannot reach MongoDB at 127.0.0.1:" + std::to_string(port) + " within 5 s"),
      std::string::npos)
      << message;
  EXPECT_EQ(message.find("s3cr"), std::string::npos) << message;
  // serverSelectionTimeoutMS defaults to 5000; a refused connection fails at once or after it.
  EXPECT_LT(seconds, 10.0);
}

TEST(MongoStoreUnreachable, SilentServerFailsWithinTheBound) {
  // Accepts connections (the kernel does, from the backlog) but never answers.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), length), 0);
  ASSERT_EQ(listen(fd, 16), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const std::string uri =
      "mongodb://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/phytoflow";

  const auto start = std::chrono::steady_clock::now();
  const Error error = ErrorOf([&] { OpenMongoStore(uri); });
  const double seconds = SecondsSince(start);
  close(fd);
  EXPECT_EQ(error.Code(), ErrorCode::kUnavailable) << error.what();
  EXPECT_LT(seconds, 10.0);
}

TEST(MongoStoreUri, BadUrisAreInvalidInputWithoutPassword) {
  const Error no_database = ErrorOf([] { OpenMongoStore("mongodb://u:pw123@127.0.0.1:1"); });
  EXPECT_EQ(no_database.Code(), ErrorCode::kInvalidInput);
  EXPECT_NE(std::string(no_database.what()).find("expected a database name"), std::string::npos);
  EXPECT_EQ(std::string(no_database.what()).find("pw123"), std::string::npos);

  const Error malformed = ErrorOf([] { OpenMongoStore("mongodb://u:pw123@/db"); });
  EXPECT_EQ(malformed.Code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(std::string(malformed.what()).find("pw123"), std::string::npos) << malformed.what();
}

TEST(MongoStoreUri, RedactsPasswordsAndPasswordOptions) {
  EXPECT_EQ(RedactMongoUri("mongodb://h:27017/db"), "mongodb://h:27017/db");
  EXPECT_EQ(RedactMongoUri("mongodb://user@h/db"), "mongodb://user@h/db");
  EXPECT_EQ(RedactMongoUri("mongodb://user:p%40ss@h1:1,h2:2/db?tls=true"),
            "mongodb://user:***@h1:1,h2:2/db?tls=true");
  EXPECT_EQ(RedactMongoUri("mongodb+srv://u:x@cluster.example.org/db?"
                           "tlsCertificateKeyFilePassword=k3y&authSource=admin"),
            "mongodb+srv://u:***@cluster.example.org/db?tlsCertificateKeyFilePassword=***"
            "&authSource=admin");
}

}  // namespace
}  // namespace phytoflow
