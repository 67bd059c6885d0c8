// Sample metadata end to end: sidecar files (CSV and JSON) with located errors, import and set on
// a SQLite store holding the real bundled example, ingest with a sidecar, and the classifier
// context that reads the metadata.

#include "phytoflow/app/metadata.h"

#include "phytoflow/app/classification.h"
#include "phytoflow/app/ingest.h"
#include "phytoflow/core/error.h"
#include "phytoflow/storage/sqlite/sqlite_store.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "testing/synthetic_export.h"
#include <gtest/gtest.h>

namespace phytoflow {
namespace {
namespace fs = std::filesystem;
using fixtures::TempDir;

const std::string kRun = "7-Pygsuia-3LB-SFSW-Terasakiella-sample2-replicate1-day7-11Apr2025";

fs::path ExampleRun() {
  return fixtures::SourceDir() / "examples" / "vicko_pygsuia_2025" / kRun;
}

fs::path WriteFile(const TempDir& temp, const std::string& name, const std::string& text) {
  const fs::path path = temp.Path() / name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// The message of the Error that `action` throws (checking its code), or "" if none.
std::string ErrorOf(ErrorCode code, const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), code) << error.what();
    return error.what();
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// Reading sidecars

TEST(MetadataFile, ReadsCsvWithBomSemicolonsQuotesAndCrlf) {
  TempDir temp;
  const fs::path path = WriteFile(
      temp,
      "stations.csv",
      "\xEF\xBB\xBF"
      "run ; station;latitude;sampled_at;sampling_protocol;env.chlorophyll_ug_per_l;depth\r\n"
      "run-a;W08;51.25;2025-04-11T10:00+02:00;\"Niskin; Lugol\";2.5;5\r\n"
      "\r\n"
      "run-b;\"W \"\"09\"\"\";;2025-04-12;;;\r\n");
  const std::vector<MetadataRecord> records = ReadMetadataFile(path);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].run, "run-a");
  EXPECT_EQ(records[0].line, 2);
  SampleMetadata a;
  a.station = "W08";
  a.latitude = 51.25;
  a.sampled_at = "2025-04-11T08:00Z";  // 10:00 at +02:00
  a.sampling_protocol = "Niskin; Lugol";
  a.environment = {{"chlorophyll_ug_per_l", 2.5}};
  a.depth_min_m = 5.0;
  a.depth_max_m = 5.0;
  EXPECT_EQ(records[0].metadata, a);
  EXPECT_EQ(records[1].run, "run-b");
  EXPECT_EQ(records[1].line, 4);  // the blank line 3 is skipped, but counted
  SampleMetadata b;
  b.station = "W \"09\"";
  b.sampled_at = "2025-04-12";
  EXPECT_EQ(records[1].metadata, b);  // empty cells give nothing
}

TEST(MetadataFile, CsvErrorsNameFileLineAndKey) {
  TempDir temp;
  const auto error_of = [&](const std::string& text) {
    const fs::path path = WriteFile(temp, "m.csv", text);
    return ErrorOf(ErrorCode::kInvalidInput, [&] { ReadMetadataFile(path); });
  };
  const std::string file = (temp.Path() / "m.csv").string();
  EXPECT_EQ(error_of("run,latitude\na,51\nb,95\n"),
            file + ":3: latitude: expected a number from -90 to 90 (decimal degrees), found '95'");
  EXPECT_TRUE(error_of("run,lat\na,51\n").starts_with(file + ":1: unknown metadata key 'lat'"));
  EXPECT_EQ(error_of("run,station\na,W1\nb,W2\na,W3\n"),
            file + ":4: run: 'a' is given twice (also on line 2)");
  EXPECT_EQ(error_of("run,station\na,W1,extra\n"),
            file + ":2: expected 2 fields as in the header, found 3");
  EXPECT_EQ(error_of("station,latitude\nW1,51\n"),
            file + ":1: expected a 'run' column with the run name or sample id of each row");
  EXPECT_EQ(error_of("run,station\n,W1\n"),
            file + ":2: run: expected the run name or sample id, found nothing");
  EXPECT_EQ(error_of("run,station,station\n"), file + ":1: column 'station' appears twice");
  EXPECT_EQ(error_of("run,depth,depth_max_m\n"),
            file + ":1: give either 'depth' or 'depth_min_m'/'depth_max_m', not both");
  EXPECT_EQ(error_of("run,depth_min_m,depth_max_m\na,10,5\n"),
            file + ":2: depth_min_m: expected at most depth_max_m (5 m), found 10 m");
  EXPECT_TRUE(error_of("run,sampled_at\na,2025-04-11T10:00\n")
                  .starts_with(file + ":2: sampled_at: '2025-04-11T10:00' has no time zone"));
  EXPECT_EQ(error_of("run,station\na,\"W1\n"),
            file + ":2: a quoted field does not end on this line (values must fit on one line)");
  EXPECT_EQ(error_of(""), file + ": expected a header row 'run,<key>,...'");

  EXPECT_EQ(ErrorOf(ErrorCode::kNotFound, [&] { ReadMetadataFile(temp.Path() / "none.csv"); }),
            (temp.Path() / "none.csv").string() + ": no such metadata file");
  const fs::path text = WriteFile(temp, "m.txt", "run\n");
  EXPECT_EQ(ErrorOf(ErrorCode::kInvalidInput, [&] { ReadMetadataFile(text); }),
            text.string() + ": expected a metadata file ending in .csv or .json");
}

TEST(MetadataFile, ReadsJsonArraysAndObjectsOfNumbersOrStrings) {
  TempDir temp;
  const fs::path array = WriteFile(temp,
                                   "m.json",
                                   R"([
  {"run": "run-a", "latitude": 51.25, "longitude": "3", "depth_min_m": 0, "depth_max_m": 10,
   "station": null, "env.oxygen_umol_per_kg": 250},
  {"run": "run-b", "temperature_c": "12.5", "sampled_at": "2025-04-11T23:30-01:00"}
])");
  const std::vector<MetadataRecord> from_array = ReadMetadataFile(array);
  ASSERT_EQ(from_array.size(), 2u);
  SampleMetadata a;
  a.latitude = 51.25;
  a.longitude = 3.0;
  a.depth_min_m = 0.0;
  a.depth_max_m = 10.0;
  a.environment = {{"oxygen_umol_per_kg", 250.0}};
  EXPECT_EQ(from_array[0].run, "run-a");
  EXPECT_EQ(from_array[0].line, 1);
  EXPECT_EQ(from_array[0].metadata, a);
  EXPECT_EQ(from_array[1].metadata.temperature_c, 12.5);
  EXPECT_EQ(from_array[1].metadata.sampled_at, "2025-04-12T00:30Z");  // 23:30 at -01:00

  // Keyed by run, in file order (not sorted).
  const fs::path object =
      WriteFile(temp, "o.json", R"({"z-run": {"station": "W08"}, "a-run": {"salinity": 34.5}})");
  const std::vector<MetadataRecord> from_object = ReadMetadataFile(object);
  ASSERT_EQ(from_object.size(), 2u);
  EXPECT_EQ(from_object[0].run, "z-run");
  EXPECT_EQ(from_object[0].metadata.station, "W08");
  EXPECT_EQ(from_object[1].run, "a-run");
  EXPECT_EQ(from_object[1].metadata.salinity, 34.5);
}

TEST(MetadataFile, JsonErrorsNameFileRecordAndKey) {
  TempDir temp;
  const fs::path path = temp.Path() / "m.json";
  const auto error_of = [&](const std::string& text) {
    WriteFile(temp, "m.json", text);
    return ErrorOf(ErrorCode::kInvalidInput, [&] { ReadMetadataFile(path); });
  };
  const std::string file = path.string();
  EXPECT_EQ(error_of(R"([{"run": "a"}, {"run": "b", "salinity": 50}])"),
            file + ": record 2: salinity: expected a number from 0 to 45 (PSU), found '50'");
  EXPECT_EQ(error_of(R"([{"run": "a", "gear": true}])"),
            file + ": record 1: gear: expected a number or a string, found true");
  EXPECT_EQ(error_of(R"([{"run": "a"}, {"run": "a"}])"),
            file + ": record 2: run: 'a' is given twice (also as record 1)");
  EXPECT_EQ(error_of(R"({"a": {"station": "x"}, "a": {"station": "y"}})"),
            file + ": run: 'a' is given twice");
  EXPECT_EQ(error_of(R"({"a": {"latitude": "north"}})"),
            file +
                ": run 'a': latitude: expected a number from -90 to 90 (decimal degrees), "
                "found 'north'");
  EXPECT_EQ(error_of(R"([{"station": "x"}])"),
            file + ": record 1: run: expected the run name or sample id, found nothing");
  EXPECT_EQ(error_of(R"("runs")"),
            file + ": expected an array of objects with \"run\", or an object keyed by run");
  EXPECT_TRUE(error_of("[{").starts_with(file + ": not valid JSON: ")) << error_of("[{");
  EXPECT_TRUE(
      error_of(R"([{"run": "a", "depth": 1e400}])").starts_with(file + ": not valid JSON: "));
}

TEST(MetadataFile, FindsRecordsBySampleIdThenRunName) {
  const std::vector<MetadataRecord> records = {{.run = "run"}, {.run = "run-1234abcd"}};
  EXPECT_EQ(FindMetadataRecord(records, "run-1234abcd", "run"), &records[1]);
  EXPECT_EQ(FindMetadataRecord(records, "run", "run"), &records[0]);
  EXPECT_EQ(FindMetadataRecord(records, "other-id", "run"), &records[0]);
  EXPECT_EQ(FindMetadataRecord(records, "other-id", "other"), nullptr);
}

// ---------------------------------------------------------------------------------------------
// Stores with the real example

// The example run ingested once; each test copies the store file, as ingest takes seconds here.
class ExampleStore : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    template_dir_ = new TempDir();
    auto store = OpenSqliteStore(template_dir_->Path() / "store.db");
    const auto reports = IngestExport(*store, ExampleRun(), {.threads = 2});
    ASSERT_EQ(reports.size(), 1u);
    ASSERT_EQ(reports[0].sample.id, kRun);
    ASSERT_TRUE(reports[0].sample.metadata.Empty());
  }
  static void TearDownTestSuite() {
    delete template_dir_;
    template_dir_ = nullptr;
  }
  void SetUp() override {
    fs::copy_file(template_dir_->Path() / "store.db", temp_.Path() / "store.db");
    store_ = OpenSqliteStore(temp_.Path() / "store.db");
  }

  static TempDir* template_dir_;
  TempDir temp_;
  std::unique_ptr<Store> store_;
};

TempDir* ExampleStore::template_dir_ = nullptr;

TEST_F(ExampleStore, ImportMergesRecordsIntoStoredSamples) {
  SampleMetadata first;
  first.station = "W08";
  first.latitude = 51.25;
  first.environment = {{"chl", 1.0}};
  MetadataImportReport report = ImportMetadata(*store_, {{.run = kRun, .metadata = first}});
  EXPECT_EQ(report.updated, std::vector<std::string>{kRun});
  EXPECT_TRUE(report.unmatched_runs.empty());
  EXPECT_EQ(store_->FindSample(kRun)->metadata, first);

  // A second import replaces the keys it gives and keeps the others; unknown runs are reported.
  SampleMetadata second;
  second.latitude = 52.0;
  second.campaign = "C1";
  second.environment = {{"oxygen", 5.0}};
  report = ImportMetadata(
      *store_, {{.run = "no-such-run", .line = 2}, {.run = kRun, .metadata = second, .line = 3}});
  EXPECT_EQ(report.updated, std::vector<std::string>{kRun});
  EXPECT_EQ(report.unmatched_runs, std::vector<std::string>{"no-such-run"});
  SampleMetadata merged = first;
  merged.latitude = 52.0;
  merged.campaign = "C1";
  merged.environment = {{"chl", 1.0}, {"oxygen", 5.0}};
  EXPECT_EQ(store_->FindSample(kRun)->metadata, merged);

  // The same values again change nothing.
  report = ImportMetadata(*store_, {{.run = kRun, .metadata = second}});
  EXPECT_TRUE(report.updated.empty());
  EXPECT_EQ(report.unchanged, std::vector<std::string>{kRun});
}

TEST_F(ExampleStore, ImportChecksEveryRecordBeforeWriting) {
  // A second sample, so that a valid record comes before the bad one.
  Sample other = *store_->FindSample(kRun);
  other.id = "other";
  other.run_name = "other-run";
  other.fingerprint = "other-fp";
  other.files.clear();
  store_->BeginSample(other, WriteMode::kCreate)->Commit(other);
  SampleMetadata deep;
  deep.depth_min_m = 20.0;
  deep.depth_max_m = 30.0;
  store_->UpdateSampleMetadata(kRun, deep);

  SampleMetadata good;
  good.station = "W01";
  SampleMetadata shallow;  // merged with the stored 20..30 m: min 20 > max 10
  shallow.depth_max_m = 10.0;
  const std::string message = ErrorOf(ErrorCode::kInvalidInput, [&] {
    ImportMetadata(*store_,
                   {{.run = "other-run", .metadata = good}, {.run = kRun, .metadata = shallow}});
  });
  EXPECT_EQ(message,
            "run '" + kRun + "' (sample '" + kRun +
                "'): depth_min_m: expected at most depth_max_m (10 m), found 20 m");
  EXPECT_TRUE(store_->FindSample("other")->metadata.Empty());  // the good record was not written
  EXPECT_EQ(store_->FindSample(kRun)->metadata, deep);

  // Matched by run name: "other-run" is sample "other".
  const MetadataImportReport report =
      ImportMetadata(*store_, {{.run = "other-run", .metadata = good}});
  EXPECT_EQ(report.updated, std::vector<std::string>{"other"});
  EXPECT_EQ(store_->FindSample("other")->metadata, good);

  // Two records for one sample are refused.
  EXPECT_NE(ErrorOf(ErrorCode::kInvalidInput,
                    [&] {
                      ImportMetadata(*store_,
                                     {{.run = "other", .metadata = good},
                                      {.run = "other-run", .metadata = good}});
                    }),
            "");
}

TEST_F(ExampleStore, SetSampleMetadataSetsClearsAndValidates) {
  const SampleMetadata set = SetSampleMetadata(
      *store_,
      kRun,
      {{"station", "lab"}, {"depth", "2"}, {"sampled_at", "2025-04-11T15:53+02:00"}});
  EXPECT_EQ(set.station, "lab");
  EXPECT_EQ(set.depth_min_m, 2.0);
  EXPECT_EQ(set.sampled_at, "2025-04-11T13:53Z");
  EXPECT_EQ(store_->FindSample(kRun)->metadata, set);

  const SampleMetadata cleared = SetSampleMetadata(*store_, kRun, {{"station", ""}});
  EXPECT_TRUE(cleared.station.empty());
  EXPECT_EQ(cleared.depth_max_m, 2.0);

  // A bad pair leaves the store as it was, even when earlier pairs were good.
  EXPECT_EQ(
      ErrorOf(ErrorCode::kInvalidInput,
              [&] { SetSampleMetadata(*store_, kRun, {{"gear", "net"}, {"salinity", "-1"}}); }),
      "salinity: expected a number from 0 to 45 (PSU), found '-1'");
  EXPECT_EQ(ErrorOf(ErrorCode::kInvalidInput,
                    [&] { SetSampleMetadata(*store_, kRun, {{"depth_min_m", "5"}}); }),
            "depth_min_m: expected at most depth_max_m (2 m), found 5 m");
  EXPECT_EQ(store_->FindSample(kRun)->metadata, cleared);
  // Check() adds the source location in debug builds.
  EXPECT_TRUE(ErrorOf(ErrorCode::kNotFound, [&] {
                SetSampleMetadata(*store_, "nope", {});
              }).starts_with("no sample 'nope' in the store (see `phytoflow samples`)"));
}

// ---------------------------------------------------------------------------------------------
// Ingest with a sidecar

TEST(IngestWithMetadata, StoresTheRecordWithTheRunAndUpdatesUnchangedRuns) {
  TempDir temp;
  auto store = OpenSqliteStore(temp.Path() / "store.db");
  // The bundled illustrative sidecar.
  const std::vector<MetadataRecord> records =
      ReadMetadataFile(fixtures::SourceDir() / "examples" / "vicko_pygsuia_2025" / "metadata.csv");
  ASSERT_EQ(records.size(), 1u);
  auto reports = IngestExport(*store, ExampleRun(), {.threads = 2, .metadata = records});
  ASSERT_EQ(reports.size(), 1u);
  SampleMetadata expected;
  expected.station = "lab-culture";
  expected.campaign = "pygsuia-culture-2025";
  expected.sampled_at = "2025-04-11";
  expected.gear = "culture flask";
  expected.sampling_protocol = "laboratory culture, sample2 replicate1 day7";
  EXPECT_EQ(reports[0].outcome, IngestOutcome::kIngested);
  EXPECT_EQ(reports[0].sample.metadata, expected);
  EXPECT_TRUE(reports[0].sample.warnings.empty());
  EXPECT_EQ(store->FindSample(kRun)->metadata, expected);
  EXPECT_TRUE(UnmatchedMetadataRuns(records, reports).empty());

  // Unchanged run, same sidecar: nothing to update.
  reports = IngestExport(*store, ExampleRun(), {.threads = 2, .metadata = records});
  EXPECT_EQ(reports[0].outcome, IngestOutcome::kUnchanged);
  EXPECT_FALSE(reports[0].metadata_updated);

  // Unchanged run, a sidecar with new values: merged into the stored metadata and reported.
  MetadataRecord update{.run = kRun};
  update.metadata.temperature_c = 18.0;
  update.metadata.station = "incubator-2";
  const std::vector<MetadataRecord> updates = {update, {.run = "typo-run"}};
  reports = IngestExport(*store, ExampleRun(), {.threads = 2, .metadata = updates});
  EXPECT_EQ(reports[0].outcome, IngestOutcome::kUnchanged);
  EXPECT_TRUE(reports[0].metadata_updated);
  SampleMetadata merged = expected;
  merged.temperature_c = 18.0;
  merged.station = "incubator-2";
  EXPECT_EQ(reports[0].sample.metadata, merged);
  EXPECT_EQ(store->FindSample(kRun)->metadata, merged);
  EXPECT_EQ(UnmatchedMetadataRuns(updates, reports), std::vector<std::string>{"typo-run"});

  // --replace reads the run again but keeps the metadata users gave.
  reports = IngestExport(*store, ExampleRun(), {.replace = true, .threads = 2});
  EXPECT_EQ(reports[0].outcome, IngestOutcome::kReplaced);
  EXPECT_EQ(store->FindSample(kRun)->metadata, merged);
}

TEST(IngestWithMetadata, WarnsOnlyWhenASidecarHasNoRowForTheRun) {
  TempDir temp;
  {
    auto store = OpenSqliteStore(temp.Path() / "plain.db");
    const auto reports = IngestExport(*store, ExampleRun(), {.threads = 2});
    EXPECT_TRUE(reports[0].sample.warnings.empty());
  }
  auto store = OpenSqliteStore(temp.Path() / "sidecar.db");
  const std::vector<MetadataRecord> records = {{.run = "another-run"}};
  const auto reports = IngestExport(*store, ExampleRun(), {.threads = 2, .metadata = records});
  ASSERT_EQ(reports[0].sample.warnings.size(), 1u);
  EXPECT_EQ(reports[0].sample.warnings[0],
            "no sample metadata for this run in the sidecar file (a row whose run is '" + kRun +
                "' or '" + kRun + "')");
  EXPECT_EQ(store->FindSample(kRun)->warnings, reports[0].sample.warnings);
  EXPECT_TRUE(store->FindSample(kRun)->metadata.Empty());
}

TEST(IngestWithMetadata, AnInvalidMergeFailsBeforeWriting) {
  TempDir temp;
  auto store = OpenSqliteStore(temp.Path() / "store.db");
  MetadataRecord record{.run = kRun};
  record.metadata.latitude = 123.0;  // not from ReadMetadataFile, so not checked yet
  const std::string message = ErrorOf(ErrorCode::kInvalidInput, [&] {
    IngestExport(*store, ExampleRun(), {.threads = 2, .metadata = std::vector{record}});
  });
  EXPECT_TRUE(message.starts_with("metadata of run '" + kRun + "' (sample '" + kRun +
                                  "'): latitude: expected a number from -90 to 90"))
      << message;
  EXPECT_TRUE(store->ListSamples().empty());
}

// ---------------------------------------------------------------------------------------------
// Classifier context

TEST(ContextForParticle, ReadsTheSampleMetadata) {
  Sample sample;
  Particle particle;
  particle.box = {.x = 0, .y = 0, .width = 10, .height = 20};
  ParticleContext context = ContextForParticle(sample, particle, "px");
  EXPECT_EQ(context.vignette_width, 10.0);
  EXPECT_FALSE(context.day_of_year || context.latitude || context.longitude || context.depth_m ||
               context.temperature_c || context.salinity);

  sample.metadata.sampled_at = "2025-04-11T13:53Z";
  sample.metadata.latitude = 51.25;
  sample.metadata.longitude = 2.9;
  sample.metadata.depth_min_m = 2.0;
  sample.metadata.depth_max_m = 8.0;
  sample.metadata.temperature_c = 12.5;
  sample.metadata.salinity = 34.0;
  sample.metadata.environment = {{"chlorophyll_ug_per_l", 3.0}};  // not a context feature
  context = ContextForParticle(sample, particle, "px");
  EXPECT_EQ(context.day_of_year, 101.0);  // 31 + 28 + 31 + 11
  EXPECT_EQ(context.latitude, 51.25);
  EXPECT_EQ(context.longitude, 2.9);
  EXPECT_EQ(context.depth_m, 5.0);  // (2 + 8) / 2
  EXPECT_EQ(context.temperature_c, 12.5);
  EXPECT_EQ(context.salinity, 34.0);

  sample.metadata.depth_min_m.reset();  // only one end given: that one
  EXPECT_EQ(ContextForParticle(sample, particle, "px").depth_m, 8.0);
}

}  // namespace
}  // namespace phytoflow
