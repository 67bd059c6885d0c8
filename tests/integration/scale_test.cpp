// Ingest at the scale of a long run: 100,000 synthetic particles over ~100 collage pages, every
// one stored with its vignette, mask, outline and label. Labelled `slow`.

#include "phytoflow/app/ingest.h"
#include "phytoflow/storage/sqlite/sqlite_store.h"

#include "testing/synthetic_export.h"
#include <gtest/gtest.h>

namespace phytoflow {
namespace {

TEST(Scale, HundredThousandParticles) {
  constexpr int64_t kParticles = 100'000;
  fixtures::TempDir temp;
  fixtures::WriteSyntheticExport(temp.Path() / "run",
                                 {.run_name = "scale", .particles = kParticles});
  auto store = OpenSqliteStore(temp.Path() / "store.db");
  int64_t progress_calls = 0;
  const auto reports = IngestExport(
      *store, temp.Path() / "run", {.on_progress = [&](const IngestProgress& progress) {
        ++progress_calls;
        EXPECT_LE(progress.done, progress.total);
      }});
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].sample.particle_count, kParticles);
  EXPECT_EQ(reports[0].labels, kParticles);
  EXPECT_EQ(reports[0].particles_without_image, 0);
  EXPECT_GE(progress_calls, kParticles / 256);

  int64_t scanned = 0;
  int64_t with_images = 0;
  int64_t previous = 0;
  store->ScanParticles("scale", {.images = true, .outlines = true}, [&](const Particle& particle) {
    ++scanned;
    EXPECT_GT(particle.number, previous);
    previous = particle.number;
    with_images +=
        !particle.image_png.empty() && !particle.mask_png.empty() && particle.outlines.size() == 1;
  });
  EXPECT_EQ(scanned, kParticles);
  EXPECT_EQ(with_images, kParticles);
  int64_t labelled = 0;
  for (const LabelCount& count : store->CountLabels("scale")) {
    labelled += count.count;
  }
  EXPECT_EQ(labelled, kParticles);
}

}  // namespace
}  // namespace phytoflow
