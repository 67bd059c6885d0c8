// What only the SQLite store promises: the file format (WAL, user_version, migrations), survival
// of a killed writer, and insert speed. The behaviour every store shares is tested in
// tests/integration/store_contract_test.cpp.

#include "phytoflow/storage/sqlite/sqlite_store.h"

#include "phytoflow/core/error.h"
#include "phytoflow/storage/sqlite/embedded_migrations.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

namespace phytoflow {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "phytoflow-sqlite-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Runs one SQL statement on the file behind the store and returns the first column of each row.
std::vector<std::string> RawQuery(const std::filesystem::path& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    std::string message = sqlite3_errmsg(db);
    sqlite3_close(db);
    throw std::runtime_error("open " + path.string() + ": " + message);
  }
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
    std::string message = sqlite3_errmsg(db);
    sqlite3_close(db);
    throw std::runtime_error(sql + ": " + message);
  }
  std::vector<std::string> rows;
  while (sqlite3_step(statement) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(statement, 0);
    rows.emplace_back(text != nullptr ? reinterpret_cast<const char*>(text) : "NULL");
  }
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return rows;
}

int64_t RawCount(const std::filesystem::path& path, const std::string& table) {
  return std::stoll(RawQuery(path, "SELECT COUNT(*) FROM " + table).at(0));
}

const std::vector<std::string> kNames = {"Area (ABD)", "Diameter (ESD)", "Length", "Width"};

Sample MakeSample(const std::string& id) {
  Sample sample;
  sample.id = id;
  sample.run_name = id;
  sample.fingerprint = "fp-" + id;
  sample.measurement_names = kNames;
  sample.context = {{"General", "Name", id}};
  sample.ingested_at = "2024-01-01T00:00:00Z";
  return sample;
}

std::vector<uint8_t> FakePng(size_t size, int64_t seed) {
  std::vector<uint8_t> bytes(std::max<size_t>(size, 8));
  const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::copy(std::begin(signature), std::end(signature), bytes.begin());
  uint32_t state = static_cast<uint32_t>(seed) * 2654435761u + 1u;
  for (size_t index = 8; index < bytes.size(); ++index) {
    state = state * 1664525u + 1013904223u;  // noise, like compressed PNG data
    bytes[index] = static_cast<uint8_t>(state >> 24);
  }
  return bytes;
}

std::vector<Particle> MakeParticles(int64_t count, size_t image_bytes) {
  std::vector<Particle> particles;
  particles.reserve(static_cast<size_t>(count));
  for (int64_t number = 1; number <= count; ++number) {
    Particle particle;
    particle.number = number;
    particle.guid = "guid-" + std::to_string(number);
    particle.collage_file = "collage_" + std::to_string(number / 100) + ".tif";
    particle.box = {.x = static_cast<int>(number % 50), .y = 3, .width = 20, .height = 30};
    particle.timestamp = "2023-06-01T08:30:00";
    particle.esd_um = 10.0 + static_cast<double>(number) / 7.0;
    particle.abd_um = 9.5;
    particle.biovolume_esd_um3 = SphereVolumeUm3(particle.esd_um);
    particle.biovolume_abd_um3 = SphereVolumeUm3(particle.abd_um);
    particle.measurements = {static_cast<double>(number) * 1.1, particle.esd_um, kMissing, 4.25};
    particle.outlines = {{.start_x = 1, .start_y = 2, .directions = "1122334455667788"}};
    particle.image_png = FakePng(image_bytes, number);
    particle.mask_png = FakePng(image_bytes / 4, -number);
    particles.push_back(std::move(particle));
  }
  return particles;
}

void Write(Store& store,
           const Sample& sample,
           std::span<const Particle> particles,
           WriteMode mode = WriteMode::kCreate) {
  auto writer = store.BeginSample(sample, mode);
  writer->AddParticles(particles);
  writer->AddLabels(std::vector<Label>{{.particle_number = 1, .name = "A", .source = "test"}});
  writer->Commit(sample);
}

size_t CountParticles(const Store& store, const std::string& sample_id) {
  size_t count = 0;
  store.ScanParticles(sample_id, {}, [&](const Particle&) { ++count; });
  return count;
}

int KnownSchemaVersion() {
  return detail::EmbeddedSqliteMigrations().back().version;
}

TEST(SqliteStore, MigrationsAreNumberedWithoutGaps) {
  const auto migrations = detail::EmbeddedSqliteMigrations();
  ASSERT_FALSE(migrations.empty());
  for (size_t index = 0; index < migrations.size(); ++index) {
    EXPECT_EQ(migrations[index].version, static_cast<int>(index) + 1);
    EXPECT_FALSE(migrations[index].sql.empty());
  }
  EXPECT_EQ(migrations[0].name, "001_init.sql");
}

TEST(SqliteStore, FileStorePersistsAcrossReopen) {
  TempDir dir;
  const auto path = dir / "store.db";
  const Sample sample = MakeSample("persisted");
  const std::vector<Particle> particles = MakeParticles(50, 200);
  {
    auto store = OpenSqliteStore(path);
    Write(*store, sample, particles);
  }
  EXPECT_EQ(RawQuery(path, "PRAGMA journal_mode"), std::vector<std::string>{"wal"});
  EXPECT_EQ(RawQuery(path, "PRAGMA user_version"),
            std::vector<std::string>{std::to_string(KnownSchemaVersion())});

  auto store = OpenSqliteStore(path);  // second open: no migration runs again
  EXPECT_EQ(store->FindSample(sample.id), sample);
  std::vector<Particle> read;
  store->ScanParticles(
      sample.id, {.images = true, .outlines = true}, [&](const Particle& p) { read.push_back(p); });
  ASSERT_EQ(read.size(), particles.size());
  for (size_t index = 0; index < read.size(); ++index) {
    // Compare without the NaN measurement, which operator== cannot.
    EXPECT_TRUE(std::isnan(read[index].measurements[2]));
    Particle want = particles[index];
    want.measurements[2] = read[index].measurements[2] = 0.0;
    EXPECT_EQ(read[index], want) << index;
  }
  EXPECT_EQ(store->Labels(sample.id).size(), 1u);
}

// A store written by the first release (schema level 1, no labels.top_k) opens, is migrated,
// and keeps its data.
TEST(SqliteStore, UpgradesALevelOneStore) {
  TempDir dir;
  const auto path = dir / "store.db";
  const Sample sample = MakeSample("old");
  {
    auto store = OpenSqliteStore(path);
    Write(*store, sample, MakeParticles(5, 50));
  }
  RawQuery(path, "DROP TABLE expert_labels");  // back to level 1
  RawQuery(path, "DROP TABLE label_history");
  RawQuery(path, "DROP INDEX labels_by_particle");
  RawQuery(path, "DROP TABLE sample_environment");
  RawQuery(path, "DROP TABLE sample_metadata");
  RawQuery(path, "ALTER TABLE labels DROP COLUMN top_k");
  RawQuery(path, "PRAGMA user_version = 1");

  auto store = OpenSqliteStore(path);
  EXPECT_EQ(RawQuery(path, "PRAGMA user_version"),
            std::vector<std::string>{std::to_string(KnownSchemaVersion())});
  EXPECT_EQ(store->FindSample(sample.id), sample);
  const std::vector<Label> labels = store->Labels(sample.id);
  ASSERT_EQ(labels.size(), 1u);
  EXPECT_TRUE(labels[0].top_k.empty());
  Label prediction = labels[0];
  prediction.source = kLabelSourceModel;
  prediction.classification = "m-1";
  prediction.top_k = {{"a", 0.7}, {"b", 0.2}};
  store->ReplaceLabels(sample.id, kLabelSourceModel, "m-1", std::vector<Label>{prediction});
  EXPECT_EQ(store->Labels(sample.id).back().top_k, prediction.top_k);
}

// A store built by the release before sample metadata: migrations 001 and 002 applied by hand
// (not by this code), with one sample, particle and label written in SQL. It opens, is migrated
// to sample metadata, and keeps its sample.
TEST(SqliteStore, UpgradesALevelTwoStore) {
  TempDir dir;
  const auto path = dir / "store.db";
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    std::string sql;
    for (const auto& migration : detail::EmbeddedSqliteMigrations()) {
      if (migration.version <= 2) {
        sql += migration.sql;
      }
    }
    sql +=
        "PRAGMA user_version = 2;"
        "INSERT INTO samples VALUES ('old-run', 'old-run', 'fp-old', '/exports/old', "
        "'VisualSpreadsheet', '4.19.3', 'FC-1', 'cam', 10.0, 0.5544, 'FC100', 100.0, 0.15, "
        "'2025-04-11T13:53:33', '2025-04-11T14:00:00', '', 1000, 990, 0.1418, 'run_summary', NULL, "
        "1.0, 1, 7.05, '[\"Length\"]', '[]', '[]', '', '[]', '[\"a warning\"]', "
        "'2025-05-01T00:00:00Z', '0.1.0');"
        "INSERT INTO particles (sample_id, number, guid, collage_file, image_x, image_y, image_w, "
        "image_h, particles_per_chain, timestamp, esd_um, measurements) VALUES ('old-run', 1, "
        "'g1', 'c.tif', 0, 0, 10, 12, 1, '', 8.5, '{\"Length\":12.5}');"
        "INSERT INTO labels (sample_id, particle_number, name, source, classification, author, "
        "created_at, top_k) VALUES ('old-run', 1, 'Junk', 'VisualSpreadsheet', 'c', 'VS', '', "
        "NULL);";
    char* error = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << error;
    sqlite3_close(db);
  }

  auto store = OpenSqliteStore(path);
  EXPECT_EQ(RawQuery(path, "PRAGMA user_version"),
            std::vector<std::string>{std::to_string(KnownSchemaVersion())});
  const std::optional<Sample> sample = store->FindSample("old-run");
  ASSERT_TRUE(sample.has_value());
  EXPECT_EQ(sample->fingerprint, "fp-old");
  EXPECT_EQ(sample->volume_imaged_ml, 0.1418);
  EXPECT_EQ(sample->warnings, std::vector<std::string>{"a warning"});
  EXPECT_TRUE(sample->metadata.Empty());
  EXPECT_EQ(CountParticles(*store, "old-run"), 1u);
  EXPECT_EQ(store->Labels("old-run").size(), 1u);
  EXPECT_EQ(store->ListSamples().size(), 1u);

  SampleMetadata metadata;
  metadata.station = "W08";
  metadata.temperature_c = 11.5;
  store->UpdateSampleMetadata("old-run", metadata);
  EXPECT_EQ(store->FindSample("old-run")->metadata, metadata);
  EXPECT_EQ(RawQuery(path, "PRAGMA integrity_check"), std::vector<std::string>{"ok"});
}

// A store of the release before expert label events (migrations 001 to 003 applied by hand),
// holding an expert label, a VisualSpreadsheet label and a prediction in `labels`. The expert
// label becomes the first event, with sequence 1; the others stay where they were.
TEST(SqliteStore, UpgradesALevelThreeStore) {
  TempDir dir;
  const auto path = dir / "store.db";
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    std::string sql;
    for (const auto& migration : detail::EmbeddedSqliteMigrations()) {
      if (migration.version <= 3) {
        sql += migration.sql;
      }
    }
    sql +=
        "PRAGMA user_version = 3;"
        "INSERT INTO samples VALUES ('old-run', 'old-run', 'fp-old', '/exports/old', "
        "'VisualSpreadsheet', '4.19.3', 'FC-1', 'cam', 10.0, 0.5544, 'FC100', 100.0, 0.15, "
        "'2025-04-11T13:53:33', '2025-04-11T14:00:00', '', 1000, 990, 0.1418, 'run_summary', NULL, "
        "1.0, 2, 7.05, '[]', '[]', '[]', '', '[]', '[]', '2025-05-01T00:00:00Z', '0.1.0');"
        "INSERT INTO particles (sample_id, number, collage_file, image_x, image_y, image_w, "
        "image_h, particles_per_chain, timestamp, measurements) VALUES "
        "('old-run', 1, 'c.tif', 0, 0, 10, 12, 1, '', '{}'), "
        "('old-run', 2, 'c.tif', 10, 0, 10, 12, 1, '', '{}');"
        "INSERT INTO labels (sample_id, particle_number, name, source, classification, author, "
        "created_at, probability, top_k) VALUES "
        "('old-run', 1, 'Junk', 'VisualSpreadsheet', 'c', 'VS', '', NULL, NULL), "
        "('old-run', 1, 'Diatom', 'expert', 'ecotaxa', 'Jane Doe', '2025-05-02T10:15:00Z', NULL, "
        "NULL), "
        "('old-run', 2, 'Diatom', 'model', 'm-1', 'phytoflow', '2025-05-01T00:00:00Z', 0.75, "
        "'[[\"Diatom\", 0.75]]');";
    char* error = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << error;
    sqlite3_close(db);
  }

  auto store = OpenSqliteStore(path);
  EXPECT_EQ(RawQuery(path, "PRAGMA user_version"),
            std::vector<std::string>{std::to_string(KnownSchemaVersion())});
  const Label expert{.particle_number = 1,
                     .name = "Diatom",
                     .source = kLabelSourceExpert,
                     .classification = "ecotaxa",
                     .author = "Jane Doe",
                     .created_at = "2025-05-02T10:15:00Z",
                     .sequence = 1};
  const std::vector<Label> labels = store->Labels("old-run");
  ASSERT_EQ(labels.size(), 3u);
  EXPECT_EQ(labels[0].source, kLabelSourceVisualSpreadsheet);
  EXPECT_EQ(labels[1], expert);
  EXPECT_EQ(labels[2].top_k, (std::vector<LabelScore>{{"Diatom", 0.75}}));
  EXPECT_EQ(RawQuery(path, "SELECT count(*) FROM labels WHERE source = 'expert'"),
            std::vector<std::string>{"0"});
  // The next event follows the migrated one.
  Label next = expert;
  next.name = "Junk";
  EXPECT_EQ(store->AppendExpertLabels("old-run", std::span(&next, 1)), std::vector<int64_t>{2});
  EXPECT_EQ(store->LabelHistory("old-run", 1).size(), 3u);
  EXPECT_EQ(RawQuery(path, "PRAGMA integrity_check"), std::vector<std::string>{"ok"});
}

// The metadata sits in typed columns that SQL users can query, one row per sample with metadata
// and one row per environmental value, and goes with its sample.
TEST(SqliteStore, MetadataIsStoredInTypedTables) {
  TempDir dir;
  const auto path = dir / "store.db";
  auto store = OpenSqliteStore(path);
  Sample sample = MakeSample("with-metadata");
  sample.metadata.station = "W08";
  sample.metadata.latitude = 51.25;
  sample.metadata.sampled_at = "2024-05-14T09:30Z";
  sample.metadata.depth_min_m = 0.0;
  sample.metadata.depth_max_m = 5.0;
  sample.metadata.environment = {{"chlorophyll_ug_per_l", 2.5}, {"oxygen_umol_per_kg", 250.0}};
  Write(*store, sample, MakeParticles(2, 20));
  Write(*store, MakeSample("without"), MakeParticles(2, 20));

  EXPECT_EQ(
      RawQuery(path,
               "SELECT sample_id || '|' || station || '|' || typeof(latitude) || '|' || "
               "latitude || '|' || sampled_at || '|' || depth_max_m || '|' || "
               "coalesce(campaign, 'NULL') || '|' || typeof(salinity) FROM sample_metadata"),
      std::vector<std::string>{"with-metadata|W08|real|51.25|2024-05-14T09:30Z|5.0|NULL|null"});
  EXPECT_EQ(RawQuery(path, "SELECT name || '=' || value FROM sample_environment ORDER BY name"),
            (std::vector<std::string>{"chlorophyll_ug_per_l=2.5", "oxygen_umol_per_kg=250.0"}));
  EXPECT_EQ(store->FindSample("with-metadata")->metadata, sample.metadata);

  // Emptying the metadata removes its rows; deleting the sample removes them too.
  store->UpdateSampleMetadata("with-metadata", {});
  EXPECT_EQ(RawCount(path, "sample_metadata"), 0);
  EXPECT_EQ(RawCount(path, "sample_environment"), 0);
  store->UpdateSampleMetadata("with-metadata", sample.metadata);
  EXPECT_EQ(RawCount(path, "sample_environment"), 2);
  EXPECT_TRUE(store->DeleteSample("with-metadata"));
  EXPECT_EQ(RawCount(path, "sample_metadata"), 0);
  EXPECT_EQ(RawCount(path, "sample_environment"), 0);
}

TEST(SqliteStore, RefusesStoreWithNewerSchema) {
  TempDir dir;
  const auto path = dir / "store.db";
  OpenSqliteStore(path).reset();
  const int newer = KnownSchemaVersion() + 1;
  RawQuery(path, "PRAGMA user_version = " + std::to_string(newer));

  try {
    OpenSqliteStore(path);
    FAIL() << "a store from a newer phytoflow was opened";
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kUnavailable);
    const std::string expected = "store schema version " + std::to_string(newer) +
                                 " is newer than this phytoflow (" +
                                 std::to_string(KnownSchemaVersion()) + "); upgrade phytoflow";
    EXPECT_NE(std::string(error.what()).find(expected), std::string::npos) << error.what();
  }
  // Refusing must not have touched the file.
  EXPECT_EQ(RawQuery(path, "PRAGMA user_version"), std::vector<std::string>{std::to_string(newer)});
}

TEST(SqliteStore, UnopenablePathIsUnavailable) {
  TempDir dir;
  try {
    OpenSqliteStore(dir / "no-such-dir" / "store.db");
    FAIL() << "opened a store in a missing directory";
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kUnavailable) << error.what();
    EXPECT_NE(std::string(error.what()).find("no-such-dir"), std::string::npos) << error.what();
  }
}

TEST(SqliteStore, FileThatIsNotAStoreIsRefused) {
  TempDir dir;
  const auto path = dir / "notes.txt";
  std::ofstream(path) << std::string(4096, 'x');
  EXPECT_THROW(OpenSqliteStore(path), Error);
}

TEST(SqliteStore, ReadersDoNotSeeUncommittedSample) {
  TempDir dir;
  auto store = OpenSqliteStore(dir / "store.db");
  const Sample sample = MakeSample("pending");
  auto writer = store->BeginSample(sample, WriteMode::kCreate);
  writer->AddParticles(MakeParticles(10, 50));

  EXPECT_FALSE(store->FindSample(sample.id).has_value());
  EXPECT_TRUE(store->ListSamples().empty());
  EXPECT_EQ(CountParticles(*store, sample.id), 0u);
  EXPECT_THROW(store->DeleteSample("anything"), Error);  // the write connection is busy

  writer->Commit(sample);
  EXPECT_EQ(store->FindSample(sample.id), sample);
  EXPECT_EQ(CountParticles(*store, sample.id), 10u);
}

// Readers on other threads see each sample whole or not at all while a writer streams samples.
TEST(SqliteStore, ConcurrentReadersSeeOnlyWholeSamples) {
  TempDir dir;
  auto store = OpenSqliteStore(dir / "store.db");
  constexpr int kSamples = 15;
  constexpr int64_t kParticles = 40;
  std::thread writer_thread([&] {
    const std::vector<Particle> particles = MakeParticles(kParticles, 64);
    for (int index = 0; index < kSamples; ++index) {
      Sample sample = MakeSample("s" + std::to_string(index));
      auto writer = store->BeginSample(sample, WriteMode::kCreate);
      writer->AddParticles(std::span(particles).first(kParticles / 2));
      writer->AddParticles(std::span(particles).subspan(kParticles / 2));
      sample.particle_count = kParticles;
      writer->Commit(sample);
    }
  });
  auto read = [&] {
    size_t seen = 0;
    while (seen < kSamples) {
      const std::vector<Sample> samples = store->ListSamples();
      for (const Sample& sample : samples) {
        EXPECT_EQ(sample.particle_count, kParticles) << sample.id;
        EXPECT_EQ(CountParticles(*store, sample.id), static_cast<size_t>(kParticles)) << sample.id;
      }
      seen = samples.size();
    }
  };
  std::thread reader_a(read);
  std::thread reader_b(read);
  writer_thread.join();
  reader_a.join();
  reader_b.join();
}

TEST(SqliteStore, FailedBatchRollsBackTheWholeSample) {
  auto store = OpenSqliteStore(":memory:");
  std::vector<Particle> particles = MakeParticles(3, 10);
  particles[2].number = 1;  // duplicate number
  auto writer = store->BeginSample(MakeSample("bad"), WriteMode::kCreate);
  try {
    writer->AddParticles(particles);
    FAIL() << "a duplicate particle number was accepted";
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kConflict) << error.what();
    EXPECT_NE(std::string(error.what()).find("INSERT INTO particles"), std::string::npos)
        << "the message names the statement: " << error.what();
  }
  // The writer is finished: committing now cannot store half a batch.
  EXPECT_THROW(writer->Commit(MakeSample("bad")), Error);
  writer.reset();
  EXPECT_FALSE(store->FindSample("bad").has_value());
}

TEST(SqliteStore, RejectsMoreMeasurementsThanNames) {
  auto store = OpenSqliteStore(":memory:");
  std::vector<Particle> particles = MakeParticles(1, 10);
  particles[0].measurements.push_back(1.0);
  auto writer = store->BeginSample(MakeSample("s"), WriteMode::kCreate);
  try {
    writer->AddParticles(particles);
    FAIL();
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kInvalidInput) << error.what();
  }
}

TEST(SqliteStore, RejectsDuplicateMeasurementNames) {
  auto store = OpenSqliteStore(":memory:");
  Sample sample = MakeSample("s");
  sample.measurement_names.push_back(sample.measurement_names[0]);
  try {
    store->BeginSample(sample, WriteMode::kCreate);
    FAIL();
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kInvalidInput) << error.what();
  }
}

// A writer killed with SIGKILL before Commit must leave the file exactly as it was: the child
// writes enough image bytes to overflow SQLite's page cache, so uncommitted pages really reach
// the WAL file before the kill.
void ExpectKilledWriterLeavesStoreUnchanged(WriteMode child_mode) {
  TempDir dir;
  const auto path = dir / "store.db";
  const Sample committed = MakeSample("committed");
  const std::vector<Particle> committed_particles = MakeParticles(10, 100);
  {
    auto store = OpenSqliteStore(path);
    Write(*store, committed, committed_particles);
  }  // no connection may cross fork()

  const pid_t child = fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    // Never return into gtest from here.
    try {
      auto store = OpenSqliteStore(path);
      const Sample doomed = child_mode == WriteMode::kCreate ? MakeSample("doomed") : committed;
      auto writer = store->BeginSample(doomed, child_mode);
      writer->AddParticles(MakeParticles(1000, 6000));
      raise(SIGKILL);
    } catch (const std::exception& error) {
      std::cerr << "child: " << error.what() << "\n";
    }
    _exit(3);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);

  std::error_code error;
  const auto wal_bytes = std::filesystem::file_size(path.string() + "-wal", error);
  EXPECT_FALSE(error) << "no WAL file left by the killed writer";
  EXPECT_GT(wal_bytes, 1'000'000u) << "the killed writer's pages did not reach the WAL";

  {
    auto store = OpenSqliteStore(path);
    const std::vector<Sample> samples = store->ListSamples();
    ASSERT_EQ(samples.size(), 1u);
    EXPECT_EQ(samples[0].id, committed.id);
    EXPECT_EQ(store->FindSample(committed.id), committed);
    EXPECT_EQ(CountParticles(*store, committed.id), committed_particles.size());
    EXPECT_EQ(CountParticles(*store, "doomed"), 0u);
    EXPECT_EQ(store->Labels(committed.id).size(), 1u);
  }
  EXPECT_EQ(RawCount(path, "samples"), 1);
  EXPECT_EQ(RawCount(path, "particles"), static_cast<int64_t>(committed_particles.size()));
  EXPECT_EQ(RawCount(path, "particle_images"), static_cast<int64_t>(committed_particles.size()));
  EXPECT_EQ(RawCount(path, "labels"), 1);
  EXPECT_EQ(RawCount(path, "sample_files"), 0);
  EXPECT_EQ(RawQuery(path, "PRAGMA integrity_check"), std::vector<std::string>{"ok"});
  EXPECT_TRUE(RawQuery(path, "PRAGMA foreign_key_check").empty());
}

TEST(SqliteStore, KilledCreateLeavesStoreUnchanged) {
  ExpectKilledWriterLeavesStoreUnchanged(WriteMode::kCreate);
}

TEST(SqliteStore, KilledReplaceLeavesStoreUnchanged) {
  ExpectKilledWriterLeavesStoreUnchanged(WriteMode::kReplace);
}

// Prints the insert rate; the 20k rows/s floor is only enforced in optimised, unsanitised builds.
TEST(SqliteStore, InsertRate) {
  TempDir dir;
  auto store = OpenSqliteStore(dir / "store.db");
  constexpr int64_t kCount = 20'000;
  constexpr int64_t kBatch = 1'000;
  const std::vector<Particle> particles = MakeParticles(kCount, 1500);
  const Sample sample = MakeSample("bulk");

  const auto start = std::chrono::steady_clock::now();
  auto writer = store->BeginSample(sample, WriteMode::kCreate);
  for (int64_t offset = 0; offset < kCount; offset += kBatch) {
    writer->AddParticles(
        std::span(particles).subspan(static_cast<size_t>(offset), static_cast<size_t>(kBatch)));
  }
  writer->Commit(sample);
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;

  const double rate = static_cast<double>(kCount) / seconds.count();
  std::cout << "inserted " << kCount << " particles (1.5 kB image + mask each) in "
            << seconds.count() << " s: " << static_cast<int64_t>(rate) << " rows/s\n";
  RecordProperty("rows_per_second", static_cast<int>(rate));
  EXPECT_EQ(CountParticles(*store, sample.id), static_cast<size_t>(kCount));
#if defined(NDEBUG) && !defined(__SANITIZE_ADDRESS__)
  EXPECT_GE(rate, 20'000.0);
#endif
}

}  // namespace
}  // namespace phytoflow
