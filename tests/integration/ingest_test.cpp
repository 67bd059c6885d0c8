// Ingest of synthetic exports into a SQLite store: round trip, idempotence, replacement, and
// the guarantee that a failing run leaves the store exactly as it was.

#include "phytoflow/app/ingest.h"

#include "phytoflow/app/vignettes.h"
#include "phytoflow/core/error.h"
#include "phytoflow/imaging/png.h"
#include "phytoflow/imaging/tiff.h"
#include "phytoflow/storage/sqlite/sqlite_store.h"

#include <filesystem>
#include <fstream>

#include "testing/synthetic_export.h"
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace phytoflow {
namespace {
namespace fs = std::filesystem;
using fixtures::ExportSpec;
using fixtures::TempDir;
using fixtures::WriteSyntheticExport;

// Everything a user could see in the store, to compare before and after a failed ingest.
struct StoreState {
  std::vector<Sample> samples;
  std::vector<std::vector<Particle>> particles;
  std::vector<std::vector<Label>> labels;
  bool operator==(const StoreState&) const = default;
};

StoreState Snapshot(const Store& store) {
  StoreState state;
  state.samples = store.ListSamples();
  for (const Sample& sample : state.samples) {
    std::vector<Particle> particles;
    store.ScanParticles(sample.id,
                        {.images = true, .outlines = true},
                        [&](const Particle& particle) { particles.push_back(particle); });
    state.particles.push_back(std::move(particles));
    state.labels.push_back(store.Labels(sample.id));
  }
  return state;
}

void ReplaceInFile(const fs::path& path, const std::string& from, const std::string& to) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
  std::ofstream(path, std::ios::binary) << text;
}

class IngestTest : public ::testing::Test {
 protected:
  TempDir temp_;
  std::unique_ptr<Store> store_ = OpenSqliteStore(temp_.Path() / "store.db");
};

TEST_F(IngestTest, StoresParticlesImagesMasksAndLabels) {
  const fs::path folder = temp_.Path() / "run";
  WriteSyntheticExport(
      folder, {.run_name = "alpha", .particles = 700, .page_width = 400, .page_height = 300});
  const auto reports = IngestExport(*store_, folder, {});
  ASSERT_EQ(reports.size(), 1u);
  const IngestReport& report = reports[0];
  EXPECT_EQ(report.outcome, IngestOutcome::kIngested);
  EXPECT_EQ(report.sample.id, "alpha");
  EXPECT_EQ(report.sample.particle_count, 700);
  EXPECT_NEAR(*report.sample.particles_per_ml, 700 / 0.1418, 1e-6);
  EXPECT_EQ(report.labels, 700);
  EXPECT_TRUE(report.sample.warnings.empty()) << report.sample.warnings.front();

  const auto stored = store_->FindSample("alpha");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->particle_count, 700);
  EXPECT_EQ(stored->context, report.sample.context);

  // Each stored vignette is exactly the collage crop of its row.
  std::map<std::string, Image> pages;
  int64_t scanned = 0;
  store_->ScanParticles("alpha", {.images = true, .outlines = true}, [&](const Particle& particle) {
    ++scanned;
    if (!pages.contains(particle.collage_file)) {
      pages[particle.collage_file] = ReadTiff(folder / particle.collage_file);
    }
    EXPECT_EQ(DecodePng(particle.image_png), Crop(pages[particle.collage_file], particle.box));
    EXPECT_FALSE(particle.mask_png.empty());
    EXPECT_EQ(particle.outlines.size(), 1u);
  });
  EXPECT_EQ(scanned, 700);
  EXPECT_GT(pages.size(), 1u);  // the run spans several collage pages

  const auto counts = store_->CountLabels("alpha");
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts[0].count + counts[1].count, 700);

  const VignetteExport vignettes = ExportVignettes(*store_, "alpha", temp_.Path() / "vignettes");
  EXPECT_EQ(vignettes.written, 700);
  EXPECT_TRUE(fs::exists(temp_.Path() / "vignettes" / "00000001-0000-4000-8000-000000000001.png"));
}

TEST_F(IngestTest, SecondIngestChangesNothingAndReplaceRewrites) {
  const fs::path folder = temp_.Path() / "run";
  WriteSyntheticExport(folder, {.run_name = "alpha", .particles = 50});
  IngestExport(*store_, folder, {});
  const StoreState before = Snapshot(*store_);

  const auto again = IngestExport(*store_, folder, {});
  EXPECT_EQ(again[0].outcome, IngestOutcome::kUnchanged);
  EXPECT_EQ(Snapshot(*store_), before);

  const auto replaced = IngestExport(*store_, folder, {.replace = true});
  EXPECT_EQ(replaced[0].outcome, IngestOutcome::kReplaced);
  EXPECT_EQ(replaced[0].sample.id, "alpha");
  const StoreState after = Snapshot(*store_);
  ASSERT_EQ(after.samples.size(), 1u);
  EXPECT_EQ(after.particles, before.particles);
  EXPECT_EQ(after.labels.size(), before.labels.size());
}

TEST_F(IngestTest, SameNameDifferentParticlesGetsItsOwnId) {
  WriteSyntheticExport(temp_.Path() / "a", {.run_name = "alpha", .particles = 10, .seed = 1});
  WriteSyntheticExport(temp_.Path() / "b", {.run_name = "alpha", .particles = 10, .seed = 2});
  const auto first = IngestExport(*store_, temp_.Path() / "a", {});
  const auto second = IngestExport(*store_, temp_.Path() / "b", {});
  EXPECT_EQ(first[0].sample.id, "alpha");
  EXPECT_EQ(second[0].sample.id, "alpha-" + second[0].sample.fingerprint.substr(0, 8));
  EXPECT_EQ(store_->ListSamples().size(), 2u);
}

TEST_F(IngestTest, MalformedRowLeavesTheStoreAsItWas) {
  WriteSyntheticExport(temp_.Path() / "good", {.run_name = "good", .particles = 20});
  IngestExport(*store_, temp_.Path() / "good", {});
  const StoreState before = Snapshot(*store_);

  const fs::path list =
      WriteSyntheticExport(temp_.Path() / "bad", {.run_name = "bad", .particles = 400});
  ReplaceInFile(list, "\n300|", "\n300oops|");  // a bad id on the 300th data row
  try {
    IngestExport(*store_, temp_.Path() / "bad", {});
    FAIL() << "a malformed list was ingested";
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kInvalidInput);
    EXPECT_NE(std::string(error.what())
                  .find("bad.lst:367: field 'id': expected an integer, found '300oops'"),
              std::string::npos)
        << error.what();
  }
  EXPECT_EQ(Snapshot(*store_), before);
}

TEST_F(IngestTest, RepeatedParticleIdIsAnInputError) {
  const fs::path list =
      WriteSyntheticExport(temp_.Path() / "dup", {.run_name = "dup", .particles = 10});
  ReplaceInFile(list, "\n7|", "\n5|");
  try {
    IngestExport(*store_, temp_.Path() / "dup", {});
    FAIL() << "a list with a repeated id was ingested";
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kInvalidInput);
    EXPECT_NE(std::string(error.what())
                  .find("dup.lst:74: field 'id': particle id 5 appears a second time"),
              std::string::npos)
        << error.what();
  }
  EXPECT_TRUE(store_->ListSamples().empty());
}

TEST_F(IngestTest, NotesInWindowsEncodingAreStoredAsUtf8) {
  const fs::path folder = temp_.Path() / "run";
  WriteSyntheticExport(folder, {.run_name = "notes", .particles = 5});
  std::ofstream(folder / "notes_notes.txt", std::ios::binary)
      << "Station: Gen\xe8ve\r\nMesh: 20 \xb5m\r\n";
  const auto reports = IngestExport(*store_, folder, {});
  EXPECT_EQ(store_->FindSample(reports[0].sample.id)->notes,
            "Station: Gen\xc3\xa8ve\r\nMesh: 20 \xc2\xb5m\r\n");
}

TEST_F(IngestTest, KillMinus9MidIngestLeavesTheStoreAsItWas) {
  WriteSyntheticExport(temp_.Path() / "good", {.run_name = "good", .particles = 20});
  IngestExport(*store_, temp_.Path() / "good", {});
  const StoreState before = Snapshot(*store_);
  WriteSyntheticExport(temp_.Path() / "big", {.run_name = "big", .particles = 2000});

  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child ingests and is killed after 1024 particles have been written.
    auto store = OpenSqliteStore(temp_.Path() / "store.db");
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

  store_ = OpenSqliteStore(temp_.Path() / "store.db");
  EXPECT_EQ(Snapshot(*store_), before);
  // Running it again completes it.
  const auto reports = IngestExport(*store_, temp_.Path() / "big", {});
  EXPECT_EQ(reports[0].outcome, IngestOutcome::kIngested);
  EXPECT_EQ(store_->FindSample("big")->particle_count, 2000);
}

TEST_F(IngestTest, MissingCollageIsAWarningOrWithStrictAnError) {
  const fs::path folder = temp_.Path() / "run";
  WriteSyntheticExport(
      folder, {.run_name = "gap", .particles = 300, .page_width = 300, .page_height = 200});
  fs::remove(folder / "gap_000002.tif");
  std::ofstream(folder / "gap_000003.tif", std::ios::binary) << "not a tiff";

  EXPECT_THROW(IngestExport(*store_, folder, {.strict = true}), Error);
  EXPECT_TRUE(store_->ListSamples().empty());

  const auto reports = IngestExport(*store_, folder, {});
  const Sample& sample = reports[0].sample;
  EXPECT_EQ(sample.particle_count, 300);
  EXPECT_GT(reports[0].particles_without_image.value(), 0);
  const auto mentions = [&](const std::string& text) {
    return std::any_of(sample.warnings.begin(), sample.warnings.end(), [&](const std::string& w) {
      return w.find(text) != std::string::npos;
    });
  };
  EXPECT_TRUE(mentions("collage 'gap_000002.tif' is missing"));
  EXPECT_TRUE(mentions("collage 'gap_000003.tif' cannot be read"));
  EXPECT_TRUE(mentions(std::to_string(reports[0].particles_without_image.value()) +
                       " particles kept without image"));
  int64_t without_image = 0;
  store_->ScanParticles(sample.id, {.images = true}, [&](const Particle& particle) {
    without_image += particle.image_png.empty() ? 1 : 0;
  });
  EXPECT_EQ(without_image, reports[0].particles_without_image);
}

TEST_F(IngestTest, ListsWithoutGuidsAreIdentifiedByNameAndIds) {
  const fs::path folder = temp_.Path() / "run";
  WriteSyntheticExport(folder,
                       {.run_name = "noguid", .particles = 30, .guids = false, .crlf = true});
  const auto first = IngestExport(*store_, folder, {});
  EXPECT_EQ(first[0].outcome, IngestOutcome::kIngested);
  EXPECT_EQ(IngestExport(*store_, folder, {})[0].outcome, IngestOutcome::kUnchanged);
  EXPECT_EQ(ExportVignettes(*store_, "noguid", temp_.Path() / "v").written, 30);
  EXPECT_TRUE(fs::exists(temp_.Path() / "v" / "noguid_7.png"));
}

TEST_F(IngestTest, UnknownPathsAndFoldersWithoutListsAreClearErrors) {
  try {
    IngestExport(*store_, temp_.Path() / "nothing-here", {});
    FAIL();
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kNotFound);
  }
  fs::create_directories(temp_.Path() / "empty");
  try {
    IngestExport(*store_, temp_.Path() / "empty", {});
    FAIL();
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), ErrorCode::kInvalidInput);
    EXPECT_NE(std::string(error.what()).find("no FlowCam particle list"), std::string::npos);
  }
}

}  // namespace
}  // namespace phytoflow
