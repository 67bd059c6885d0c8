// The reader against every real export in ../shared/data/flowcam, with the figures of
// ../shared/spec/flowcam-formats.md §7.

#include "phytoflow/core/error.h"
#include "phytoflow/imaging/png.h"
#include "phytoflow/reader/classification_reader.h"
#include "phytoflow/reader/export_source.h"
#include "phytoflow/reader/list_reader.h"
#include "phytoflow/reader/run_reader.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <numeric>

#include "testing/synthetic_export.h"
#include <gtest/gtest.h>

namespace phytoflow {
namespace {
namespace fs = std::filesystem;
using fixtures::SharedData;

const std::string kVicko2 = "7-Pygsuia-3LB-SFSW-Terasakiella-sample2-replicate1-day7-11Apr2025";
const std::string kVicko3 = "7-Pygsuia-3LB-SFSW-Terasakiella-sample3-replicate3-day5-09Apr2025";
const std::string kAvocados = "416_Station40_09012015_10x";

fs::path Flowcam(const std::string& relative) {
  return SharedData() / "flowcam" / relative;
}

RunFiles OnlyRun(const fs::path& folder) {
  const std::vector<RunFiles> runs = FindRunsInFolder(folder);
  EXPECT_EQ(runs.size(), 1u) << folder;
  return runs.at(0);
}

struct ListCase {
  std::string path;
  int64_t rows;
  size_t fields;
};

class EveryList : public ::testing::TestWithParam<ListCase> {};

TEST_P(EveryList, ParsesWithTheSpecRowCount) {
  const ListCase& list_case = GetParam();
  std::ifstream in(Flowcam(list_case.path), std::ios::binary);
  ASSERT_TRUE(in) << list_case.path;
  ListReader list(in, list_case.path);
  Particle particle;
  int64_t rows = 0;
  int64_t previous = 0;
  while (list.Next(particle)) {
    ++rows;
    EXPECT_GT(particle.number, previous);  // ids increase in every file seen
    previous = particle.number;
  }
  EXPECT_EQ(rows, list_case.rows);
  EXPECT_EQ(list.Decoder().ColumnCount(), list_case.fields);
}

INSTANTIATE_TEST_SUITE_P(
    SharedData,
    EveryList,
    ::testing::Values(
        ListCase{"vicko_pygsuia_2025/" + kVicko2 + "/" + kVicko2 + ".lst", 1000, 65},
        ListCase{"vicko_pygsuia_2025/" + kVicko3 + "/" + kVicko3 + ".lst", 1000, 65},
        ListCase{"avocados_station40_2017/" + kAvocados + "/" + kAvocados + ".lst", 3122, 64},
        ListCase{"morphocut_comics_dy086/flowcam_COMICS_DY086_20171118_MSC019_t0_4x.lst", 506, 65},
        ListCase{"nercceh_macro_2023/19_10_Tank25_blanksremoved/19_10_Tank25_blanksremoved.lst",
                 8976,
                 53},
        ListCase{"nercceh_macro_2023/MicrobialMethane_MESO_Tank10_54.0143_-2.7770_04052023_1/"
                 "metadata.lst",
                 475,
                 53},
        ListCase{"pml_library_2016/Tripos fusus/Ceratium fusus.flb", 27, 65},
        ListCase{"pml_library_2016/Undet. Ciliate(large)/Lge ciliate unidentified.flb", 33, 65},
        ListCase{"reference_files/rflowcam/sample_data.lst", 7937, 57}));

// Every crop lies inside its page; where a _bin mask exists, the crop's mask has the particle
// in it and the outlines of the .edg fall on its foreground.
struct CropCase {
  std::string folder;
  int64_t particles;
  bool masks;
  bool outlines;  // the export has an .edg
};

class EveryCollage : public ::testing::TestWithParam<CropCase> {};

TEST_P(EveryCollage, CropsLieInsideTheirPageAndAgreeWithTheMask) {
  const CropCase& crop_case = GetParam();
  RunReader run(OnlyRun(Flowcam(crop_case.folder)), {});
  EXPECT_EQ(run.Metadata().particle_count, crop_case.particles);
  const auto& names = run.Metadata().measurement_names;
  const auto index_of = [&](const std::string& name) {
    return static_cast<size_t>(std::find(names.begin(), names.end(), name) - names.begin());
  };
  const size_t src_x = index_of("src_x_px");
  const size_t src_y = index_of("src_y_px");
  Particle particle;
  int64_t count = 0;
  int64_t outline_points = 0;
  int64_t points_on_mask = 0;
  while (run.NextParticle(particle)) {
    ++count;
    ASSERT_FALSE(particle.image_png.empty()) << "particle " << particle.number;
    const Image image = DecodePng(particle.image_png);
    EXPECT_EQ(image.width, particle.box.width);
    EXPECT_EQ(image.height, particle.box.height);
    EXPECT_EQ(image.channels, 3);
    if (!crop_case.masks) {
      EXPECT_TRUE(particle.mask_png.empty());
      continue;
    }
    ASSERT_FALSE(particle.mask_png.empty()) << "particle " << particle.number;
    const Image mask = DecodePng(particle.mask_png);
    ASSERT_EQ(mask.width, image.width);
    ASSERT_EQ(mask.height, image.height);
    ASSERT_EQ(mask.channels, 1);
    EXPECT_TRUE(std::all_of(
        mask.pixels.begin(), mask.pixels.end(), [](uint8_t v) { return v == 0 || v == 255; }));
    EXPECT_GT(std::count(mask.pixels.begin(), mask.pixels.end(), 255), 0)
        << "particle " << particle.number;
    if (crop_case.outlines) {
      EXPECT_EQ(static_cast<int64_t>(particle.outlines.size()), particle.particles_per_chain);
    }
    // .edg points are raw-frame coordinates: crop (x, y) = point − (src_x, src_y).
    for (const ChainCode& chain : particle.outlines) {
      int x = chain.start_x - static_cast<int>(particle.measurements[src_x]);
      int y = chain.start_y - static_cast<int>(particle.measurements[src_y]);
      for (const char step : chain.directions) {
        static constexpr int kDx[] = {1, 1, 0, -1, -1, -1, 0, 1};
        static constexpr int kDy[] = {0, -1, -1, -1, 0, 1, 1, 1};
        x += kDx[step - '1'];
        y += kDy[step - '1'];
        ++outline_points;
        if (x >= 0 && y >= 0 && x < mask.width && y < mask.height &&
            mask.pixels[static_cast<size_t>(y * mask.width + x)] == 255) {
          ++points_on_mask;
        }
      }
      EXPECT_EQ(x, chain.start_x - static_cast<int>(particle.measurements[src_x]))
          << "chain does not close";
    }
  }
  EXPECT_EQ(count, crop_case.particles);
  EXPECT_EQ(run.ParticlesWithoutImage(), 0);
  EXPECT_EQ(points_on_mask, outline_points);  // spec §3.3: 100 % of traced points on the mask
}

INSTANTIATE_TEST_SUITE_P(
    SharedData,
    EveryCollage,
    ::testing::Values(
        CropCase{"vicko_pygsuia_2025/" + kVicko2, 1000, true, true},
        CropCase{"vicko_pygsuia_2025/" + kVicko3, 1000, true, true},
        CropCase{"avocados_station40_2017/" + kAvocados, 3122, true, true},
        CropCase{"morphocut_comics_dy086", 506, true, false},
        CropCase{"nercceh_macro_2023/19_10_Tank25_blanksremoved", 8976, false, true},
        CropCase{"nercceh_macro_2023/MicrobialMethane_MESO_Tank10_54.0143_-2.7770_04052023_1",
                 475,
                 false,
                 false},
        CropCase{"pml_library_2016/Tripos fusus", 27, false, true},
        CropCase{"pml_library_2016/Undet. Ciliate(large)", 33, false, true}));

TEST(VickoRun, ConcentrationIs7054PerMl) {
  RunReader run(OnlyRun(Flowcam("vicko_pygsuia_2025/" + kVicko2)), {});
  const Sample& sample = run.Metadata();
  EXPECT_EQ(sample.run_name, kVicko2);
  EXPECT_EQ(sample.particle_count, 1000);
  EXPECT_EQ(sample.volume_imaged_ml, 0.1418);
  EXPECT_EQ(sample.volume_source, VolumeSource::kRunSummary);
  EXPECT_EQ(sample.dilution_factor, 1.0);
  ASSERT_TRUE(sample.particles_per_ml.has_value());
  EXPECT_NEAR(*sample.particles_per_ml, 7054.0, 7054.0 * 0.005);
  EXPECT_EQ(sample.software_version, "4.19.3");
  EXPECT_EQ(sample.calibration_um_per_px, 0.5544);
  EXPECT_EQ(sample.run_start_utc, "2025-04-11T13:53:33");
  EXPECT_EQ(sample.run_start_local, "2025-04-11T15:53:33");
  EXPECT_EQ(sample.measurement_names.size(),
            57u);  // 65 fields less id, the box, timestamp, collage, GUID
  ASSERT_EQ(sample.files.size(), 1u);
  EXPECT_EQ(sample.files[0].name, "cal_image_000001.tif");
  EXPECT_EQ(sample.fingerprint.size(), 16u);
  // The .csv beside the list agrees with it: no warning about it.
  for (const Diagnostic& diagnostic : run.Problems()) {
    EXPECT_EQ(diagnostic.file.find(".csv"), std::string::npos) << diagnostic.ToString();
  }
  // The .cla (value filters): Junk 87, protist 2.
  std::map<std::string, int> counts;
  for (const Label& label : run.Labels()) {
    ++counts[label.name];
    EXPECT_EQ(label.source, "VisualSpreadsheet");
    EXPECT_EQ(label.classification, "karla_protist_class_2");
  }
  EXPECT_EQ(counts, (std::map<std::string, int>{{"Junk", 87}, {"protist", 2}}));
}

TEST(VickoRun, CsvExportAgreesWithTheList) {
  for (const std::string& run : {kVicko2, kVicko3}) {
    const fs::path folder = Flowcam("vicko_pygsuia_2025/" + run);
    std::ifstream lst_in(folder / (run + ".lst"), std::ios::binary);
    std::ifstream csv_in(folder / (run + ".csv"), std::ios::binary);
    ListReader lst(lst_in, run + ".lst");
    CsvListReader csv(csv_in, run + ".csv");
    const auto& lst_names = lst.Decoder().MeasurementNames();
    const auto& csv_names = csv.Decoder().MeasurementNames();
    Particle a;
    Particle b;
    int64_t rows = 0;
    int64_t values_compared = 0;
    while (lst.Next(a)) {
      ASSERT_TRUE(csv.Next(b));
      ++rows;
      ASSERT_EQ(a.number, b.number);
      ASSERT_EQ(a.guid, b.guid);
      ASSERT_EQ(a.box, b.box);
      ASSERT_EQ(a.collage_file, b.collage_file);
      ASSERT_EQ(a.timestamp, b.timestamp);
      for (size_t i = 0; i < lst_names.size(); ++i) {
        const auto at = std::find(csv_names.begin(), csv_names.end(), lst_names[i]);
        if (at == csv_names.end()) {
          continue;
        }
        const double csv_value = b.measurements[static_cast<size_t>(at - csv_names.begin())];
        EXPECT_NEAR(a.measurements[i], csv_value, 5e-5)
            << lst_names[i] << " of particle " << a.number;
        ++values_compared;
      }
    }
    EXPECT_FALSE(csv.Next(b));
    EXPECT_EQ(rows, 1000);
    EXPECT_GE(values_compared, 1000 * 40);  // the spec verified 40 columns
  }
}

TEST(AvocadosRun, ExpertClassificationAndDilution) {
  RunReader run(OnlyRun(Flowcam("avocados_station40_2017/" + kAvocados)), {});
  const Sample& sample = run.Metadata();
  ASSERT_EQ(run.Classifications().size(), 1u);
  const Classification& expert = run.Classifications()[0];
  EXPECT_EQ(expert.name, "416_Station40_09012015_10x_Class");
  EXPECT_EQ(expert.classes.size(), 38u);
  int64_t total = 0;
  for (const ClassMembers& members : expert.classes) {
    total += static_cast<int64_t>(members.particle_numbers.size());
  }
  EXPECT_EQ(total, 3122);
  EXPECT_EQ(run.Labels().size(), 3122u);
  EXPECT_EQ(sample.volume_imaged_ml, 0.2510);
  EXPECT_NEAR(sample.dilution_factor, 1 / 0.3333, 1e-9);
  EXPECT_NEAR(*sample.particles_per_ml, 3122 / 0.2510 / 0.3333, 1e-6);
  EXPECT_EQ(sample.run_start_utc, "2017-02-01T00:00:18");
  EXPECT_EQ(sample.run_start_local, "2017-01-31T19:00:18");
  EXPECT_NE(sample.notes.find("Station: 40"), std::string::npos);
  EXPECT_EQ(sample.software_version, "4.0.27");
  EXPECT_EQ(sample.calibration_um_per_px, 0.5517);
}

TEST(ReferenceFiles, BigelowClassificationsAndContext) {
  const fs::path folder = Flowcam("reference_files/bigelow_flowcamr");
  std::ifstream cla(folder / "201-045311.cla", std::ios::binary);
  const auto classifications = ReadClassifications(cla, "201-045311.cla");
  ASSERT_EQ(classifications.size(), 2u);
  EXPECT_EQ(classifications[0].name, "test");
  EXPECT_EQ(classifications[0].classes.size(), 21u);
  EXPECT_EQ(classifications[1].name, "201-045311_SABOR_LCL");
  EXPECT_EQ(classifications[1].classes.size(), 37u);
  std::map<std::string, size_t> used;
  for (const ClassMembers& members : classifications[1].classes) {
    used[members.name] = members.particle_numbers.size();
  }
  EXPECT_EQ(used["2C01"], 16u);
  EXPECT_EQ(used["8B"], 59u);
  EXPECT_EQ(used["9B"], 53u);

  std::ifstream ctx(folder / "201-045311.ctx", std::ios::binary);
  Diagnostics diagnostics;
  const KeyValueFile context = ReadContext(ctx, "201-045311.ctx", diagnostics);
  EXPECT_EQ(context.Find("software", "softwareversion"), "3.4.5");
  EXPECT_EQ(context.FindNumber("Fluid", "CalibrationConstant"), 1.0);  // the placeholder
  EXPECT_TRUE(diagnostics.empty());
}

TEST(NercMacro, FilteredExportWithoutMasks) {
  RunReader run(OnlyRun(Flowcam("nercceh_macro_2023/19_10_Tank25_blanksremoved")), {});
  const Sample& sample = run.Metadata();
  EXPECT_EQ(sample.volume_imaged_ml, 289.6065);
  EXPECT_EQ(sample.calibration_um_per_px, 9.25);
  EXPECT_EQ(sample.classifications,
            (std::vector<std::string>{"19_10_Tank25", "19_10_Tank25_blankimagesremoved"}));
  const auto warned =
      std::any_of(run.Problems().begin(), run.Problems().end(), [](const Diagnostic& d) {
        return d.message.find("counts 10381 particles, the list holds 8976") != std::string::npos;
      });
  EXPECT_TRUE(warned);
}

TEST(NercMacro, RenamedListTakesItsNameFromTheCollages) {
  RunReader run(OnlyRun(Flowcam(
                    "nercceh_macro_2023/MicrobialMethane_MESO_Tank10_54.0143_-2.7770_04052023_1")),
                {});
  EXPECT_EQ(run.Metadata().run_name, "MicrobialMethane_MESO_Tank10_54.0143_-2.7770_04052023_1");
  EXPECT_EQ(run.Metadata().volume_source, VolumeSource::kNone);
  EXPECT_FALSE(run.Metadata().particles_per_ml.has_value());
}

TEST(ReferenceFiles, ListWithoutGuidsOrCollagesKeepsParticlesWithoutImages) {
  RunReader run(OnlyRun(Flowcam("reference_files/rflowcam")), {});
  EXPECT_EQ(run.Metadata().particle_count, 7937);
  Particle particle;
  int64_t count = 0;
  while (run.NextParticle(particle)) {
    EXPECT_TRUE(particle.guid.empty());
    EXPECT_TRUE(particle.image_png.empty());
    ++count;
  }
  EXPECT_EQ(count, 7937);
  EXPECT_EQ(run.ParticlesWithoutImage(), 7937);
  const auto missing =
      std::count_if(run.Problems().begin(), run.Problems().end(), [](const Diagnostic& d) {
        return d.message.find("is missing") != std::string::npos;
      });
  EXPECT_EQ(missing, 10);  // named one by one up to the cap, then counted
  EXPECT_THROW(RunReader(OnlyRun(Flowcam("reference_files/rflowcam")), {.strict = true})
                   .NextParticle(particle),
               Error);
}

}  // namespace
}  // namespace phytoflow
