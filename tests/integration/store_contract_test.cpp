// The Store contract: what every storage backend must do, tested only through the Store
// interface. Each backend is one StoreBackend in the instantiations at the bottom. The MongoDB
// backend (PHYTOFLOW_WITH_MONGO) gives each test a fresh database on the server named by
// PHYTOFLOW_TEST_MONGO_URI and drops it afterwards; without that variable its tests fail with a
// message that says how to start a server (they never skip).

#include "phytoflow/core/error.h"
#include "phytoflow/storage/sqlite/sqlite_store.h"
#include "phytoflow/storage/store.h"
#ifdef PHYTOFLOW_WITH_MONGO
#include "phytoflow/storage/mongo/mongo_store.h"
#endif

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <stdlib.h>  // mkdtemp
#ifdef PHYTOFLOW_WITH_MONGO
#include "testing/mongo_test_server.h"
#endif

namespace phytoflow {

// Readable failure messages for the domain types (found by ADL).
void PrintTo(const Particle& particle, std::ostream* out) {
  *out << "Particle{number=" << particle.number << " guid=" << particle.guid
       << " collage=" << particle.collage_file << " box=" << particle.box.x << "," << particle.box.y
       << "," << particle.box.width << "x" << particle.box.height
       << " chain=" << particle.particles_per_chain << " time=" << particle.timestamp
       << " esd=" << particle.esd_um << " abd=" << particle.abd_um
       << " bv_esd=" << particle.biovolume_esd_um3 << " bv_abd=" << particle.biovolume_abd_um3
       << " measurements=[";
  for (double value : particle.measurements) {
    *out << value << " ";
  }
  *out << "] outlines=[";
  for (const ChainCode& chain : particle.outlines) {
    *out << chain.start_x << "," << chain.start_y << "," << chain.directions << " ";
  }
  *out << "] image=" << particle.image_png.size() << "B mask=" << particle.mask_png.size() << "B}";
}

void PrintTo(const Sample& sample, std::ostream* out) {
  auto optional = [](const auto& value) {
    return value ? std::to_string(*value) : std::string("unset");
  };
  *out << "Sample{id=" << sample.id << " run=" << sample.run_name << " fp=" << sample.fingerprint
       << " source=" << sample.source_path << " sw=" << sample.software << " "
       << sample.software_version << " serial=" << sample.instrument_serial
       << " camera=" << sample.camera << " mag=" << optional(sample.magnification)
       << " cal=" << optional(sample.calibration_um_per_px) << " cell=" << sample.flow_cell
       << " depth=" << optional(sample.flow_cell_depth_um)
       << " rate=" << optional(sample.flow_rate_ml_per_min) << " start=" << sample.run_start_utc
       << " end=" << sample.run_end_utc << " local=" << sample.run_start_local
       << " frames=" << optional(sample.frames_total) << "/" << optional(sample.frames_used)
       << " vol=" << optional(sample.volume_imaged_ml) << " ("
       << VolumeSourceName(sample.volume_source) << ")"
       << " processed=" << optional(sample.volume_processed_ml)
       << " dilution=" << sample.dilution_factor << " count=" << sample.particle_count
       << " per_ml=" << optional(sample.particles_per_ml)
       << " names=" << sample.measurement_names.size() << " context=[";
  for (const ContextEntry& entry : sample.context) {
    *out << entry.section << "." << entry.key << "=" << entry.value << " ";
  }
  *out << "] summary=" << sample.summary.size() << " notes=" << sample.notes.size()
       << "B classifications=" << sample.classifications.size()
       << " warnings=" << sample.warnings.size() << " files=" << sample.files.size()
       << " ingested=" << sample.ingested_at << " version=" << sample.phytoflow_version
       << " metadata=[";
  for (const auto& [key, value] : MetadataValues(sample.metadata)) {
    *out << key << "=" << value << " ";
  }
  *out << "]}";
}

namespace {

struct StoreBackend {
  std::string name;
  // Opens an empty store. `scratch` is a fresh directory, removed after the test.
  std::function<std::unique_ptr<Store>(const std::filesystem::path& scratch)> open;
  // Removes what `open` made outside `scratch` (a server database), after the store is closed.
  std::function<void(const std::filesystem::path& scratch)> remove;
};

void PrintTo(const StoreBackend& backend, std::ostream* out) {
  *out << backend.name;
}

// NaN != NaN, so operator== on particles with missing values needs NaN replaced by a value that
// no test uses.
constexpr double kNaNStandIn = -123456.75;

double Comparable(double value) {
  return std::isnan(value) ? kNaNStandIn : value;
}

Particle Comparable(Particle particle) {
  particle.esd_um = Comparable(particle.esd_um);
  particle.abd_um = Comparable(particle.abd_um);
  particle.biovolume_esd_um3 = Comparable(particle.biovolume_esd_um3);
  particle.biovolume_abd_um3 = Comparable(particle.biovolume_abd_um3);
  for (double& value : particle.measurements) {
    value = Comparable(value);
  }
  return particle;
}

std::vector<Particle> Comparable(std::vector<Particle> particles) {
  for (Particle& particle : particles) {
    particle = Comparable(std::move(particle));
  }
  return particles;
}

const std::vector<std::string> kMeasurementNames = {
    "Area (ABD)", "Diameter (ESD)", "Aspect Ratio", "Transparency", "Sum Intensity"};

// Every metadata key set, with distinct values so that swapped columns show.
SampleMetadata MakeFullMetadata() {
  SampleMetadata metadata;
  metadata.station = "W08";
  metadata.campaign = "BPNS-2024-05";
  metadata.latitude = 51.4325;
  metadata.longitude = -2.5 + 1e-9;  // must round-trip bits
  metadata.sampled_at = "2024-05-14T09:30:15Z";
  metadata.depth_min_m = 0.5;
  metadata.depth_max_m = 5.0;
  metadata.sampling_protocol = "Niskin bottle; Lugol 1 %";
  metadata.gear = "Niskin bottle";
  metadata.water_body = "North Sea";
  metadata.country_code = "BE";
  metadata.dilution_factor = 2.0;
  metadata.concentration_factor = 0.25;
  metadata.temperature_c = -1.75;
  metadata.salinity = 34.125;
  metadata.environment = {{"chlorophyll_ug_per_l", 0.1 + 0.2}, {"oxygen_umol_per_kg", 250.0}};
  return metadata;
}

// Every field set, with values that catch column mix-ups and lossy conversions.
Sample MakeFullSample(const std::string& id) {
  Sample sample;
  sample.id = id;
  sample.run_name = id + "_run";
  sample.fingerprint = "sha256:" + id;
  sample.source_path = "/data/exports/" + id;
  sample.software = "VisualSpreadsheet";
  sample.software_version = "4.19.3";
  sample.instrument_serial = "FC-1234";
  sample.camera = "Sony XCD";
  sample.magnification = 10.0;
  sample.calibration_um_per_px = 0.6103515625;
  sample.flow_cell = "FOV 100";
  sample.flow_cell_depth_um = 100.0;
  sample.flow_rate_ml_per_min = 0.1 + 0.2;  // not exactly representable: must round-trip bits
  sample.run_start_utc = "2023-06-01T08:30:00";
  sample.run_end_utc = "2023-06-01T08:45:12";
  sample.run_start_local = "2023-06-01T10:30:00";
  sample.frames_total = 12000;
  sample.frames_used = 11987;
  sample.volume_imaged_ml = 1.23456789012345;
  sample.volume_source = VolumeSource::kContextEfficiency;
  sample.volume_processed_ml = 5.0;
  sample.dilution_factor = 0.5;
  sample.particle_count = 3;
  sample.particles_per_ml = 1e-300;
  sample.measurement_names = kMeasurementNames;
  // Not alphabetical, a repeated key, an empty value, non-ASCII text: order and all must survive.
  sample.context = {{"Software", "Version", "4.19.3"},
                    {"Fluidics", "FlowRate", "0.1"},
                    {"Fluidics", "FlowRate", "0.2"},
                    {"Camera", "Gain", ""},
                    {"Aardvark", "Note", "µm ünïcode"}};
  sample.summary = {{"Run Summary", "Particle Count", "3"},
                    {"Volume", "Fluid Volume Imaged", "1.23 ml"}};
  sample.notes = "line one\nline two\twith tab\n";
  sample.classifications = {"Lake classes", "Other"};
  sample.warnings = {"no _run_summary.txt", "2 rows skipped"};
  sample.files = {
      {.name = "cal_image_000001.tif",
       .kind = "calibration_image",
       .media_type = "image/png",
       .bytes = {0x89, 'P', 'N', 'G', 0, 1, 2, 255}},
      {.name = "empty.bin", .kind = "other", .media_type = "application/octet-stream", .bytes = {}},
  };
  sample.ingested_at = "2024-01-02T03:04:05Z";
  sample.phytoflow_version = "0.1.0";
  sample.metadata = MakeFullMetadata();
  return sample;
}

// Only the identity; every optional unset, every list empty.
Sample MakeMinimalSample(const std::string& id) {
  Sample sample;
  sample.id = id;
  sample.fingerprint = "fp-" + id;
  sample.ingested_at = "2024-01-01T00:00:00Z";
  return sample;
}

std::vector<uint8_t> FakePng(int seed, size_t size) {
  std::vector<uint8_t> bytes = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  for (size_t index = 0; bytes.size() < size; ++index) {
    bytes.push_back(static_cast<uint8_t>((index * 31 + static_cast<size_t>(seed)) & 0xff));
  }
  return bytes;
}

std::vector<Particle> MakeParticles() {
  const double inf = std::numeric_limits<double>::infinity();
  Particle first;
  first.number = 1;
  first.guid = "8d6f0c1e-0001";
  first.collage_file = "run_000001.tif";
  first.box = {.x = 0, .y = 12, .width = 40, .height = 33};
  first.particles_per_chain = 1;
  first.timestamp = "2023-06-01T08:30:01.125";
  first.esd_um = 12.5;
  first.abd_um = 11.0;
  first.biovolume_esd_um3 = SphereVolumeUm3(12.5);
  first.biovolume_abd_um3 = SphereVolumeUm3(11.0);
  first.measurements = {95.03, 12.5, 0.1 + 0.2, kMissing, 1e308};
  first.outlines = {{.start_x = 10, .start_y = 20, .directions = "11223344"},
                    {.start_x = -1, .start_y = 0, .directions = ""}};
  first.image_png = FakePng(1, 300);
  first.mask_png = FakePng(2, 120);

  Particle second;  // missing sizes, no guid, no outlines, no images
  second.number = 2;
  second.collage_file = "run_000001.tif";
  second.box = {.x = 40, .y = 12, .width = 8, .height = 9};
  second.particles_per_chain = 3;
  second.timestamp = "2023-06-01T08:30:02";
  second.measurements = {kMissing, kMissing, -0.5, 7.0, inf};

  Particle third;  // image without mask
  third.number = 7;
  third.guid = "8d6f0c1e-0007";
  third.collage_file = "run_000002.tif";
  third.box = {.x = 1, .y = 2, .width = 3, .height = 4};
  third.esd_um = 3.25;
  third.measurements = {1.0, 2.0, 3.0, 4.0, -inf};
  third.outlines = {{.start_x = 5, .start_y = 6, .directions = "8"}};
  third.image_png = FakePng(7, 64);
  return {first, second, third};
}

std::vector<Label> MakeLabels() {
  return {
      {.particle_number = 7,
       .name = "Dolichospermum",
       .source = kLabelSourceVisualSpreadsheet,
       .classification = "Lake classes",
       .author = "VisualSpreadsheet",
       .created_at = "2023-06-02T00:00:00Z"},
      {.particle_number = 1,
       .name = "Dolichospermum",
       .source = kLabelSourceVisualSpreadsheet,
       .classification = "Lake classes",
       .author = "VisualSpreadsheet",
       .created_at = "2023-06-02T00:00:00Z"},
      {.particle_number = 2,
       .name = "Detritus",
       .source = kLabelSourceVisualSpreadsheet,
       .classification = "Lake classes",
       .author = "VisualSpreadsheet",
       .created_at = "2023-06-02T00:00:00Z"},
      {.particle_number = 1,
       .name = "Cyanobacteria",
       .source = "model:lake-v1",
       .classification = "lake-v1",
       .author = "phytoflow 0.1.0",
       .created_at = "2024-01-02T03:04:06Z",
       .probability = 0.875,
       .top_k = {{"Cyanobacteria", 0.875}, {"Detritus", 0.1}}},
  };
}

void WriteSample(Store& store,
                 const Sample& sample,
                 std::span<const Particle> particles,
                 std::span<const Label> labels,
                 WriteMode mode = WriteMode::kCreate) {
  std::unique_ptr<SampleWriter> writer = store.BeginSample(sample, mode);
  writer->AddParticles(particles);
  writer->AddLabels(labels);
  writer->Commit(sample);
}

std::vector<Particle> ReadParticles(const Store& store,
                                    const std::string& sample_id,
                                    ParticleScan what = {.images = true, .outlines = true}) {
  std::vector<Particle> particles;
  store.ScanParticles(
      sample_id, what, [&](const Particle& particle) { particles.push_back(particle); });
  return particles;
}

// Runs `action` and expects it to throw Error with `code`.
void ExpectError(ErrorCode code, const std::function<void()>& action) {
  try {
    action();
    ADD_FAILURE() << "expected Error " << ErrorCodeName(code) << ", nothing was thrown";
  } catch (const Error& error) {
    EXPECT_EQ(error.Code(), code) << error.what();
  }
}

class StoreContract : public ::testing::TestWithParam<StoreBackend> {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "phytoflow-contract-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    scratch_ = pattern;
    store_ = GetParam().open(scratch_);
  }
  void TearDown() override {
    store_.reset();
    if (GetParam().remove) {
      GetParam().remove(scratch_);
    }
    std::error_code ignored;
    std::filesystem::remove_all(scratch_, ignored);
  }

  std::filesystem::path scratch_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreContract, RoundTripsFullSample) {
  const Sample sample = MakeFullSample("lake-2023-06-01");
  const std::vector<Particle> particles = MakeParticles();
  WriteSample(*store_, sample, particles, MakeLabels());

  const std::optional<Sample> found = store_->FindSample(sample.id);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*found, sample);
  EXPECT_EQ(Comparable(ReadParticles(*store_, sample.id)), Comparable(particles));
}

TEST_P(StoreContract, RoundTripsMinimalSample) {
  const Sample sample = MakeMinimalSample("bare");
  WriteSample(*store_, sample, {}, {});

  const std::optional<Sample> found = store_->FindSample(sample.id);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*found, sample);
  EXPECT_FALSE(found->magnification.has_value());
  EXPECT_FALSE(found->frames_total.has_value());
  EXPECT_EQ(found->volume_source, VolumeSource::kNone);
  EXPECT_TRUE(ReadParticles(*store_, sample.id).empty());
  EXPECT_TRUE(store_->Labels(sample.id).empty());
  EXPECT_TRUE(store_->CountLabels(sample.id).empty());
}

TEST_P(StoreContract, CommitStoresFinalMetadata) {
  Sample sample = MakeFullSample("streamed");
  sample.particle_count = 0;
  sample.warnings.clear();
  sample.files.clear();
  const std::vector<Particle> particles = MakeParticles();
  std::unique_ptr<SampleWriter> writer = store_->BeginSample(sample, WriteMode::kCreate);
  writer->AddParticles(std::span(particles).first(1));
  writer->AddParticles(std::span(particles).subspan(1));

  sample.particle_count = 3;
  sample.particles_per_ml = 2.5;
  sample.warnings = {"found late"};
  sample.files = MakeFullSample("x").files;
  sample.run_end_utc = "2023-06-01T09:00:00";
  sample.metadata.station = "given late";  // e.g. a sidecar row matched after the id was chosen
  writer->Commit(sample);

  EXPECT_EQ(store_->FindSample(sample.id), sample);
  EXPECT_EQ(ReadParticles(*store_, sample.id).size(), 3u);
}

TEST_P(StoreContract, ScanSkipsImagesAndOutlinesUnlessAsked) {
  const Sample sample = MakeFullSample("s");
  const std::vector<Particle> particles = MakeParticles();
  WriteSample(*store_, sample, particles, {});

  std::vector<Particle> expected = particles;
  for (Particle& particle : expected) {
    particle.image_png.clear();
    particle.mask_png.clear();
    particle.outlines.clear();
  }
  EXPECT_EQ(Comparable(ReadParticles(*store_, sample.id, {})), Comparable(expected));

  std::vector<Particle> with_images = ReadParticles(*store_, sample.id, {.images = true});
  ASSERT_EQ(with_images.size(), 3u);
  EXPECT_EQ(with_images[0].image_png, particles[0].image_png);
  EXPECT_EQ(with_images[0].mask_png, particles[0].mask_png);
  EXPECT_TRUE(with_images[0].outlines.empty());
  EXPECT_TRUE(with_images[2].mask_png.empty());

  std::vector<Particle> with_outlines = ReadParticles(*store_, sample.id, {.outlines = true});
  ASSERT_EQ(with_outlines.size(), 3u);
  EXPECT_EQ(with_outlines[0].outlines, particles[0].outlines);
  EXPECT_TRUE(with_outlines[0].image_png.empty());
}

TEST_P(StoreContract, ScanReturnsParticlesByNumber) {
  const Sample sample = MakeFullSample("s");
  std::vector<Particle> particles = MakeParticles();
  std::vector<Particle> shuffled = {particles[2], particles[0], particles[1]};
  WriteSample(*store_, sample, shuffled, {});

  std::vector<int64_t> numbers;
  for (const Particle& particle : ReadParticles(*store_, sample.id, {})) {
    numbers.push_back(particle.number);
  }
  EXPECT_EQ(numbers, (std::vector<int64_t>{1, 2, 7}));
}

TEST_P(StoreContract, ScanSkipsMeasurementsWhenAskedTo) {
  const Sample sample = MakeFullSample("s");
  const std::vector<Particle> particles = MakeParticles();
  WriteSample(*store_, sample, particles, {});
  std::vector<Particle> expected = ReadParticles(*store_, sample.id, {});
  ASSERT_FALSE(expected.at(0).measurements.empty());
  for (Particle& particle : expected) {
    particle.measurements.clear();
  }
  EXPECT_EQ(Comparable(ReadParticles(*store_, sample.id, {.measurements = false})),
            Comparable(expected));
}

TEST_P(StoreContract, ScanReadsOnlyTheParticlesOfANumberRange) {
  const Sample sample = MakeFullSample("s");
  const std::vector<Particle> particles = MakeParticles();  // numbers 1, 2, 7
  WriteSample(*store_, sample, particles, {});
  const auto numbers_in = [&](int64_t first, int64_t last) {
    std::vector<int64_t> numbers;
    for (const Particle& particle : ReadParticles(
             *store_, sample.id, {.images = true, .first_number = first, .last_number = last})) {
      numbers.push_back(particle.number);
    }
    return numbers;
  };
  EXPECT_EQ(numbers_in(2, 2), (std::vector<int64_t>{2}));
  EXPECT_EQ(numbers_in(2, 7), (std::vector<int64_t>{2, 7}));
  EXPECT_EQ(numbers_in(3, 6), (std::vector<int64_t>{}));
  EXPECT_EQ(numbers_in(7, 1000), (std::vector<int64_t>{7}));
  // The image of a particle comes with it, not with its neighbour.
  EXPECT_EQ(ReadParticles(*store_, sample.id, {.images = true, .first_number = 7, .last_number = 7})
                .at(0)
                .image_png,
            particles[2].image_png);
}

TEST_P(StoreContract, MeasurementsAlignWithSampleNames) {
  const Sample sample = MakeFullSample("s");
  Particle particle = MakeParticles()[0];
  particle.measurements = {1.5, kMissing};  // the list had fewer columns for this row
  WriteSample(*store_, sample, std::span(&particle, 1), {});

  const std::vector<Particle> read = ReadParticles(*store_, sample.id, {});
  ASSERT_EQ(read.size(), 1u);
  ASSERT_EQ(read[0].measurements.size(), sample.measurement_names.size());
  EXPECT_EQ(read[0].measurements[0], 1.5);
  for (size_t index = 1; index < read[0].measurements.size(); ++index) {
    EXPECT_TRUE(std::isnan(read[0].measurements[index])) << index;
  }
}

TEST_P(StoreContract, ListSamplesOrdersByIngestTimeThenId) {
  Sample late = MakeFullSample("a-late");
  late.ingested_at = "2024-03-01T00:00:00Z";
  Sample early_b = MakeFullSample("b-early");
  early_b.ingested_at = "2024-01-01T00:00:00Z";
  Sample early_a = MakeMinimalSample("a-early");
  early_a.ingested_at = "2024-01-01T00:00:00Z";
  WriteSample(*store_, late, MakeParticles(), {});
  WriteSample(*store_, early_b, MakeParticles(), {});
  WriteSample(*store_, early_a, {}, {});

  const std::vector<Sample> listed = store_->ListSamples();
  ASSERT_EQ(listed.size(), 3u);
  // Context, summary, files and notes may be left out of the list.
  std::vector<Sample> expected = {early_a, early_b, late};
  for (size_t index = 0; index < listed.size(); ++index) {
    Sample got = listed[index];
    Sample want = expected[index];
    for (Sample* sample : {&got, &want}) {
      sample->context.clear();
      sample->summary.clear();
      sample->files.clear();
      sample->notes.clear();
    }
    EXPECT_EQ(got, want) << index;
  }
  EXPECT_TRUE(listed[2].files.empty());
}

TEST_P(StoreContract, FindsSampleByFingerprint) {
  const Sample sample = MakeFullSample("s1");
  WriteSample(*store_, sample, {}, {});
  WriteSample(*store_, MakeMinimalSample("s2"), {}, {});

  EXPECT_EQ(store_->FindSampleByFingerprint(sample.fingerprint), sample);
  EXPECT_EQ(store_->FindSampleByFingerprint("fp-s2")->id, "s2");
  EXPECT_FALSE(store_->FindSampleByFingerprint("sha256:unknown").has_value());
}

TEST_P(StoreContract, UnknownSampleIsEmptyNotAnError) {
  EXPECT_FALSE(store_->FindSample("nope").has_value());
  EXPECT_TRUE(ReadParticles(*store_, "nope").empty());
  EXPECT_TRUE(store_->Labels("nope").empty());
  EXPECT_TRUE(store_->CountLabels("nope").empty());
  EXPECT_TRUE(store_->ListSamples().empty());
  EXPECT_FALSE(store_->DeleteSample("nope"));
}

TEST_P(StoreContract, LabelsAndCounts) {
  const Sample sample = MakeFullSample("s");
  const std::vector<Label> labels = MakeLabels();
  WriteSample(*store_, sample, MakeParticles(), labels);
  WriteSample(*store_, MakeMinimalSample("other"), {}, labels);  // must not be counted

  // By particle number; labels of one particle keep the order they were added in.
  EXPECT_EQ(store_->Labels(sample.id),
            (std::vector<Label>{labels[1], labels[3], labels[2], labels[0]}));
  EXPECT_EQ(store_->CountLabels(sample.id),
            (std::vector<LabelCount>{
                {.source = kLabelSourceVisualSpreadsheet,
                 .classification = "Lake classes",
                 .name = "Detritus",
                 .count = 1},
                {.source = kLabelSourceVisualSpreadsheet,
                 .classification = "Lake classes",
                 .name = "Dolichospermum",
                 .count = 2},
                {.source = "model:lake-v1",
                 .classification = "lake-v1",
                 .name = "Cyanobacteria",
                 .count = 1},
            }));
}

TEST_P(StoreContract, ReplaceLabelsRewritesOneClassificationOnly) {
  const Sample sample = MakeFullSample("s");
  const std::vector<Label> labels = MakeLabels();
  WriteSample(*store_, sample, MakeParticles(), labels);
  const Label ecotaxa{.particle_number = 2,
                      .name = "Detritus",
                      .source = "ecotaxa",
                      .classification = "ecotaxa",
                      .author = "EcoTaxa",
                      .created_at = "2024-02-01T00:00:00Z"};
  store_->ReplaceLabels("s", "ecotaxa", "ecotaxa", std::vector<Label>{ecotaxa});

  // New predictions of the model replace its old ones; the other labels stay.
  Label prediction = labels[3];
  prediction.particle_number = 7;
  prediction.top_k = {{"Cyanobacteria", 0.6}, {"Dolichospermum", 0.3}, {"Detritus", 0.1}};
  store_->ReplaceLabels("s", "model:lake-v1", "lake-v1", std::vector<Label>{prediction});
  EXPECT_EQ(store_->Labels("s"),
            (std::vector<Label>{labels[1], labels[2], ecotaxa, labels[0], prediction}));
  // The replaced prediction of particle 1 stays in its history, by created_at.
  EXPECT_EQ(store_->LabelHistory("s", 1), (std::vector<Label>{labels[1], labels[3]}));

  // Mismatched provenance, an unknown sample: errors, nothing changed.
  EXPECT_THROW(store_->ReplaceLabels("s", "model:other", "other", std::vector<Label>{prediction}),
               Error);
  EXPECT_THROW(store_->ReplaceLabels("nope", "model:lake-v1", "lake-v1", {}), Error);
  // Expert labels are appended, never replaced.
  Label expert = ecotaxa;
  expert.source = kLabelSourceExpert;
  ExpectError(ErrorCode::kInvalidInput, [&] {
    store_->ReplaceLabels("s", kLabelSourceExpert, "ecotaxa", std::vector<Label>{expert});
  });
  store_->ReplaceLabels("s", "model:lake-v1", "lake-v1", {});
  EXPECT_EQ(store_->Labels("s"), (std::vector<Label>{labels[1], labels[2], ecotaxa, labels[0]}));
  // Particle 7 had the second prediction, replaced by none; its .cla label is current.
  EXPECT_EQ(store_->LabelHistory("s", 7), (std::vector<Label>{labels[0], prediction}));
}

Label ExpertEvent(int64_t number,
                  const std::string& name,
                  const std::string& created_at,
                  ExpertStatus status = ExpertStatus::kValidated) {
  return Label{.particle_number = number,
               .name = name,
               .source = kLabelSourceExpert,
               .classification = kPhytoflowClassification,
               .author = "Jane Doe",
               .created_at = created_at,
               .status = status};
}

// `label` as the store returns it: with the sequence number it was given.
Label Stored(Label label, int64_t sequence) {
  label.sequence = sequence;
  return label;
}

TEST_P(StoreContract, ExpertLabelsAreAppendedEvents) {
  const std::vector<Label> labels = MakeLabels();
  WriteSample(*store_, MakeFullSample("s"), MakeParticles(), labels);

  // A bulk relabel is one append; the numbers follow the order given.
  const Label first = ExpertEvent(1, "Aphanizomenon", "2024-05-01T10:00:00.000001Z");
  const Label doubted = ExpertEvent(2, "", "2024-05-01T10:00:00.000001Z", ExpertStatus::kDubious);
  const std::vector<int64_t> batch =
      store_->AppendExpertLabels("s", std::vector<Label>{first, doubted});
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_GT(batch[0], 0);
  EXPECT_GT(batch[1], batch[0]);
  // An event with an older clock still comes after: the store's number decides.
  const Label second = ExpertEvent(1, "Dolichospermum", "2024-04-30T00:00:00.000000Z");
  const std::vector<int64_t> later = store_->AppendExpertLabels("s", std::span(&second, 1));
  ASSERT_EQ(later.size(), 1u);
  EXPECT_GT(later[0], batch[1]);

  // Labels: per particle the other sources first, then the classification's newest event.
  EXPECT_EQ(store_->Labels("s"),
            (std::vector<Label>{labels[1],
                                labels[3],
                                Stored(second, later[0]),
                                labels[2],
                                Stored(doubted, batch[1]),
                                labels[0]}));
  EXPECT_EQ(store_->CountLabels("s"),
            (std::vector<LabelCount>{
                {.source = kLabelSourceVisualSpreadsheet,
                 .classification = "Lake classes",
                 .name = "Detritus",
                 .count = 1},
                {.source = kLabelSourceVisualSpreadsheet,
                 .classification = "Lake classes",
                 .name = "Dolichospermum",
                 .count = 2},
                {.source = kLabelSourceExpert,
                 .classification = kPhytoflowClassification,
                 .name = "Dolichospermum",
                 .count = 1},
                {.source = kLabelSourceExpert,
                 .classification = kPhytoflowClassification,
                 .name = kDubiousLabel,
                 .count = 1},
                {.source = "model:lake-v1",
                 .classification = "lake-v1",
                 .name = "Cyanobacteria",
                 .count = 1},
            }));
  // The history keeps every event.
  EXPECT_EQ(store_->LabelHistory("s", 1),
            (std::vector<Label>{
                labels[1], labels[3], Stored(first, batch[0]), Stored(second, later[0])}));
  EXPECT_EQ(store_->LabelHistory("s", 2),
            (std::vector<Label>{labels[2], Stored(doubted, batch[1])}));
  EXPECT_TRUE(store_->LabelHistory("s", 99).empty());
  EXPECT_TRUE(store_->LabelHistory("nope", 1).empty());
  // An empty append writes nothing and gives no number.
  EXPECT_TRUE(store_->AppendExpertLabels("s", {}).empty());
  EXPECT_EQ(store_->LabelHistory("s", 7), (std::vector<Label>{labels[0]}));
}

TEST_P(StoreContract, ExpertAppendIsAllOrNothing) {
  WriteSample(*store_, MakeFullSample("s"), MakeParticles(), {});
  const Label good = ExpertEvent(1, "A", "2024-05-01T10:00:00Z");
  const Label ghost = ExpertEvent(3, "A", "2024-05-01T10:00:00Z");  // the sample has 1, 2, 7
  ExpectError(ErrorCode::kNotFound,
              [&] { store_->AppendExpertLabels("s", std::vector<Label>{good, ghost, good}); });
  ExpectError(ErrorCode::kNotFound,
              [&] { store_->AppendExpertLabels("nope", std::span(&good, 1)); });
  Label prediction = good;
  prediction.source = kLabelSourceModel;
  ExpectError(ErrorCode::kInvalidInput,
              [&] { store_->AppendExpertLabels("s", std::vector<Label>{good, prediction}); });
  const std::vector<Label> too_many(kMaxExpertLabelsPerAppend + 1, good);
  ExpectError(ErrorCode::kInvalidInput, [&] { store_->AppendExpertLabels("s", too_many); });
  {
    std::unique_ptr<SampleWriter> writer =
        store_->BeginSample(MakeMinimalSample("b"), WriteMode::kCreate);
    ExpectError(ErrorCode::kConflict,
                [&] { store_->AppendExpertLabels("s", std::span(&good, 1)); });
  }
  EXPECT_TRUE(store_->Labels("s").empty());
  EXPECT_TRUE(store_->LabelHistory("s", 1).empty());
  // The whole batch at its limit goes through as one.
  const std::vector<Label> at_limit(kMaxExpertLabelsPerAppend, good);
  EXPECT_EQ(store_->AppendExpertLabels("s", at_limit).size(), kMaxExpertLabelsPerAppend);
  EXPECT_EQ(store_->LabelHistory("s", 1).size(), kMaxExpertLabelsPerAppend);
  EXPECT_EQ(store_->Labels("s").size(), 1u);  // one classification, one current label
}

TEST_P(StoreContract, AnUndoMustRevertTheNewestEvent) {
  WriteSample(*store_, MakeFullSample("s"), MakeParticles(), {});
  const Label set = ExpertEvent(1, "A", "2024-05-01T10:00:00Z");
  const int64_t set_sequence = store_->AppendExpertLabels("s", std::span(&set, 1)).at(0);
  const Label other = ExpertEvent(2, "B", "2024-05-01T10:00:01Z");
  const int64_t other_sequence = store_->AppendExpertLabels("s", std::span(&other, 1)).at(0);

  // Undoing an event that is not the particle's newest (or another particle's) is a conflict.
  Label undo = ExpertEvent(1, "", "2024-05-01T10:00:02Z", ExpertStatus::kWithdrawn);
  undo.undoes = other_sequence;
  ExpectError(ErrorCode::kConflict, [&] { store_->AppendExpertLabels("s", std::span(&undo, 1)); });
  // An undo after another event of its particle in the same batch is one too.
  undo.undoes = set_sequence;
  const Label again = ExpertEvent(1, "C", "2024-05-01T10:00:02Z");
  ExpectError(ErrorCode::kConflict,
              [&] { store_->AppendExpertLabels("s", std::vector<Label>{again, undo}); });
  EXPECT_EQ(store_->LabelHistory("s", 1), (std::vector<Label>{Stored(set, set_sequence)}));

  const int64_t undo_sequence = store_->AppendExpertLabels("s", std::span(&undo, 1)).at(0);
  EXPECT_GT(undo_sequence, other_sequence);
  // A withdrawn label is no label: particle 1 has none now, particle 2 still has B.
  EXPECT_EQ(store_->Labels("s"), (std::vector<Label>{Stored(other, other_sequence)}));
  EXPECT_EQ(store_->LabelHistory("s", 1),
            (std::vector<Label>{Stored(set, set_sequence), Stored(undo, undo_sequence)}));
  // Undoing the undo restores A, ranked where A was.
  Label redo = ExpertEvent(1, "A", "2024-05-01T10:00:03Z");
  redo.undoes = undo_sequence;
  redo.restores = set_sequence;
  const int64_t redo_sequence = store_->AppendExpertLabels("s", std::span(&redo, 1)).at(0);
  EXPECT_EQ(store_->Labels("s"),
            (std::vector<Label>{Stored(redo, redo_sequence), Stored(other, other_sequence)}));
}

TEST_P(StoreContract, ExpertSequenceNumbersAreNeverGivenTwice) {
  WriteSample(*store_, MakeFullSample("a"), MakeParticles(), {});
  WriteSample(*store_, MakeFullSample("b"), MakeParticles(), {});
  const Label event = ExpertEvent(7, "A", "2024-05-01T10:00:00Z");
  const int64_t in_a = store_->AppendExpertLabels("a", std::span(&event, 1)).at(0);
  const int64_t in_b = store_->AppendExpertLabels("b", std::span(&event, 1)).at(0);
  EXPECT_GT(in_b, in_a);  // one sequence for the whole store
  // A deleted sample takes its events with it; the numbers are not given again.
  EXPECT_TRUE(store_->DeleteSample("b"));
  WriteSample(*store_, MakeFullSample("b"), MakeParticles(), {});
  EXPECT_TRUE(store_->LabelHistory("b", 7).empty());
  EXPECT_GT(store_->AppendExpertLabels("b", std::span(&event, 1)).at(0), in_b);
  // A replaced sample starts without history too.
  WriteSample(*store_, MakeFullSample("a"), MakeParticles(), {}, WriteMode::kReplace);
  EXPECT_TRUE(store_->LabelHistory("a", 7).empty());
  EXPECT_TRUE(store_->Labels("a").empty());
}

TEST_P(StoreContract, AWriterCopiesAnExpertHistory) {
  // A history as another store gave it: numbers of that store, an undo pointing into it, and an
  // undo of an event this writer is not given.
  Label set = ExpertEvent(1, "X", "2024-05-01T10:00:00Z");
  set.sequence = 100;
  Label change = ExpertEvent(1, "Y", "2024-05-01T10:00:01Z");
  change.sequence = 105;
  Label undo = ExpertEvent(1, "X", "2024-05-01T10:00:02Z");
  undo.sequence = 106;
  undo.undoes = 105;
  undo.restores = 100;
  Label orphan = ExpertEvent(2, "Z", "2024-05-01T10:00:03Z");
  orphan.sequence = 200;
  orphan.undoes = 7;
  orphan.restores = 3;
  WriteSample(
      *store_, MakeFullSample("s"), MakeParticles(), std::vector<Label>{set, change, undo, orphan});

  const std::vector<Label> history = store_->LabelHistory("s", 1);
  ASSERT_EQ(history.size(), 3u);
  EXPECT_LT(history[0].sequence, history[1].sequence);
  EXPECT_LT(history[1].sequence, history[2].sequence);
  EXPECT_EQ(history[2].undoes, history[1].sequence);
  EXPECT_EQ(history[2].restores, history[0].sequence);
  EXPECT_EQ(history[2].name, "X");
  const std::vector<Label> second = store_->LabelHistory("s", 2);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].undoes, 0);
  EXPECT_EQ(second[0].restores, 0);
  EXPECT_GT(second[0].sequence, history[2].sequence);
  // Nothing is visible before Commit: a writer destroyed before it leaves no event.
  {
    std::unique_ptr<SampleWriter> writer =
        store_->BeginSample(MakeMinimalSample("gone"), WriteMode::kCreate);
    writer->AddLabels(std::vector<Label>{set});
  }
  EXPECT_TRUE(store_->Labels("gone").empty());
}

TEST_P(StoreContract, UpdateSampleMetadataReplacesOnlyTheMetadata) {
  const Sample sample = MakeFullSample("s");
  const std::vector<Particle> particles = MakeParticles();
  WriteSample(*store_, sample, particles, MakeLabels());
  WriteSample(*store_, MakeMinimalSample("other"), {}, {});

  SampleMetadata update;
  update.station = "W09";
  update.depth_min_m = 10.0;
  update.depth_max_m = 10.0;
  update.environment = {{"silicate_umol_per_l", 4.5}};
  store_->UpdateSampleMetadata("s", update);

  // Replaced as a whole (merging is the caller's business); nothing else of the sample changed.
  Sample expected = sample;
  expected.metadata = update;
  EXPECT_EQ(store_->FindSample("s"), expected);
  EXPECT_EQ(store_->FindSampleByFingerprint(sample.fingerprint)->metadata, update);
  EXPECT_EQ(Comparable(ReadParticles(*store_, "s")), Comparable(particles));
  EXPECT_EQ(store_->Labels("s").size(), MakeLabels().size());
  EXPECT_TRUE(store_->FindSample("other")->metadata.Empty());
  const std::vector<Sample> listed = store_->ListSamples();
  ASSERT_EQ(listed.size(), 2u);
  for (const Sample& listed_sample : listed) {
    EXPECT_EQ(listed_sample.metadata, listed_sample.id == "s" ? update : SampleMetadata{});
  }

  store_->UpdateSampleMetadata("s", {});
  EXPECT_TRUE(store_->FindSample("s")->metadata.Empty());

  ExpectError(ErrorCode::kNotFound, [&] { store_->UpdateSampleMetadata("nope", update); });
  EXPECT_FALSE(store_->FindSample("nope").has_value());
}

TEST_P(StoreContract, MetadataGoesWithItsSample) {
  WriteSample(*store_, MakeFullSample("s"), {}, {});
  // A replaced sample has the metadata of its replacement only.
  Sample replacement = MakeMinimalSample("s");
  replacement.metadata.campaign = "again";
  WriteSample(*store_, replacement, {}, {}, WriteMode::kReplace);
  EXPECT_EQ(store_->FindSample("s")->metadata, replacement.metadata);
  // A deleted sample's metadata does not come back with a new sample of the same id.
  EXPECT_TRUE(store_->DeleteSample("s"));
  WriteSample(*store_, MakeMinimalSample("s"), {}, {});
  EXPECT_TRUE(store_->FindSample("s")->metadata.Empty());
}

TEST_P(StoreContract, MetadataIsNotWrittenWhileASampleIsBeingWritten) {
  WriteSample(*store_, MakeMinimalSample("a"), {}, {});
  std::unique_ptr<SampleWriter> writer =
      store_->BeginSample(MakeMinimalSample("b"), WriteMode::kCreate);
  ExpectError(ErrorCode::kConflict, [&] { store_->UpdateSampleMetadata("a", MakeFullMetadata()); });
  writer->Commit(MakeMinimalSample("b"));
  store_->UpdateSampleMetadata("a", MakeFullMetadata());
  EXPECT_EQ(store_->FindSample("a")->metadata, MakeFullMetadata());
}

TEST_P(StoreContract, CreateWithExistingIdConflicts) {
  const Sample sample = MakeFullSample("s");
  const std::vector<Particle> particles = MakeParticles();
  WriteSample(*store_, sample, particles, MakeLabels());

  Sample again = MakeMinimalSample("s");
  ExpectError(ErrorCode::kConflict, [&] { store_->BeginSample(again, WriteMode::kCreate); });

  EXPECT_EQ(store_->FindSample("s"), sample);
  EXPECT_EQ(ReadParticles(*store_, "s").size(), particles.size());
  // The failed attempt left no writer open.
  WriteSample(*store_, MakeMinimalSample("t"), {}, {});
  EXPECT_EQ(store_->ListSamples().size(), 2u);
}

TEST_P(StoreContract, DuplicateFingerprintConflicts) {
  WriteSample(*store_, MakeFullSample("s"), {}, {});
  Sample twin = MakeMinimalSample("twin");
  twin.fingerprint = MakeFullSample("s").fingerprint;
  ExpectError(ErrorCode::kConflict, [&] { WriteSample(*store_, twin, {}, {}); });
  EXPECT_FALSE(store_->FindSample("twin").has_value());
}

TEST_P(StoreContract, ReplaceReplacesEverything) {
  WriteSample(*store_, MakeFullSample("s"), MakeParticles(), MakeLabels());

  Sample replacement = MakeMinimalSample("s");
  replacement.measurement_names = {"Only"};
  Particle particle;
  particle.number = 42;
  particle.measurements = {4.2};
  const Label label = {.particle_number = 42, .name = "New", .source = "expert"};
  WriteSample(
      *store_, replacement, std::span(&particle, 1), std::span(&label, 1), WriteMode::kReplace);

  EXPECT_EQ(store_->FindSample("s"), replacement);
  EXPECT_EQ(Comparable(ReadParticles(*store_, "s")), Comparable(std::vector<Particle>{particle}));
  std::vector<Label> read = store_->Labels("s");
  ASSERT_EQ(read.size(), 1u);
  EXPECT_GT(read[0].sequence, 0);  // an expert label is an event with its number
  EXPECT_EQ(read, std::vector<Label>{Stored(label, read[0].sequence)});
  // The old sample's labels are not the new one's history.
  EXPECT_TRUE(store_->LabelHistory("s", 1).empty());
  EXPECT_EQ(store_->ListSamples().size(), 1u);
}

TEST_P(StoreContract, ReplaceOfUnknownIdCreates) {
  const Sample sample = MakeFullSample("new");
  WriteSample(*store_, sample, {}, {}, WriteMode::kReplace);
  EXPECT_EQ(store_->FindSample("new"), sample);
}

TEST_P(StoreContract, UncommittedWriterRollsBack) {
  const Sample sample = MakeFullSample("s");
  {
    std::unique_ptr<SampleWriter> writer = store_->BeginSample(sample, WriteMode::kCreate);
    writer->AddParticles(MakeParticles());
    writer->AddLabels(MakeLabels());
  }  // destroyed without Commit

  EXPECT_FALSE(store_->FindSample("s").has_value());
  EXPECT_FALSE(store_->FindSampleByFingerprint(sample.fingerprint).has_value());
  EXPECT_TRUE(ReadParticles(*store_, "s").empty());
  EXPECT_TRUE(store_->Labels("s").empty());
  EXPECT_TRUE(store_->ListSamples().empty());
  // The id is free again.
  WriteSample(*store_, sample, {}, {});
  EXPECT_EQ(store_->FindSample("s"), sample);
}

TEST_P(StoreContract, UncommittedReplaceKeepsOldSample) {
  const Sample sample = MakeFullSample("s");
  const std::vector<Particle> particles = MakeParticles();
  WriteSample(*store_, sample, particles, MakeLabels());
  {
    Sample replacement = MakeMinimalSample("s");
    replacement.measurement_names = kMeasurementNames;
    std::unique_ptr<SampleWriter> writer = store_->BeginSample(replacement, WriteMode::kReplace);
    writer->AddParticles(std::span(particles).first(1));
  }

  EXPECT_EQ(store_->FindSample("s"), sample);
  EXPECT_EQ(Comparable(ReadParticles(*store_, "s")), Comparable(particles));
  EXPECT_EQ(store_->Labels("s").size(), MakeLabels().size());
}

TEST_P(StoreContract, OneWriterAtATime) {
  std::unique_ptr<SampleWriter> writer =
      store_->BeginSample(MakeMinimalSample("a"), WriteMode::kCreate);
  ExpectError(ErrorCode::kConflict,
              [&] { store_->BeginSample(MakeMinimalSample("b"), WriteMode::kCreate); });
  writer->Commit(MakeMinimalSample("a"));
  // Committing frees the store for the next writer.
  WriteSample(*store_, MakeMinimalSample("b"), {}, {});
  EXPECT_EQ(store_->ListSamples().size(), 2u);
}

TEST_P(StoreContract, DeleteSampleRemovesEverything) {
  const std::vector<Particle> particles = MakeParticles();
  WriteSample(*store_, MakeFullSample("gone"), particles, MakeLabels());
  WriteSample(*store_, MakeFullSample("kept"), particles, MakeLabels());

  EXPECT_TRUE(store_->DeleteSample("gone"));
  EXPECT_FALSE(store_->FindSample("gone").has_value());
  EXPECT_TRUE(ReadParticles(*store_, "gone").empty());
  EXPECT_TRUE(store_->Labels("gone").empty());
  EXPECT_FALSE(store_->DeleteSample("gone"));

  EXPECT_EQ(store_->FindSample("kept"), MakeFullSample("kept"));
  EXPECT_EQ(Comparable(ReadParticles(*store_, "kept")), Comparable(particles));
  EXPECT_EQ(store_->Labels("kept").size(), MakeLabels().size());
  // The deleted id and fingerprint can be used again.
  WriteSample(*store_, MakeFullSample("gone"), {}, {});
  EXPECT_EQ(store_->ListSamples().size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(
    Sqlite,
    StoreContract,
    ::testing::Values(StoreBackend{.name = "memory",
                                   .open =
                                       [](const std::filesystem::path&) {
                                         return OpenSqliteStore(":memory:");
                                       }},
                      StoreBackend{.name = "file",
                                   .open =
                                       [](const std::filesystem::path& scratch) {
                                         return OpenSqliteStore(scratch / "store.db");
                                       }}),
    [](const ::testing::TestParamInfo<StoreBackend>& param_info) { return param_info.param.name; });

#ifdef PHYTOFLOW_WITH_MONGO
// One database per test, named after its scratch folder (mkdtemp makes that unique).
std::string MongoTestDatabaseUri(const std::filesystem::path& scratch) {
  const std::optional<std::string> server = fixtures::TestMongoUri();
  if (!server) {
    throw std::runtime_error(fixtures::NoMongoServerMessage());
  }
  return fixtures::WithDatabase(*server, scratch.filename().string());
}

INSTANTIATE_TEST_SUITE_P(Mongo,
                         StoreContract,
                         ::testing::Values(StoreBackend{
                             .name = "mongodb",
                             .open =
                                 [](const std::filesystem::path& scratch) {
                                   return OpenMongoStore(MongoTestDatabaseUri(scratch));
                                 },
                             .remove =
                                 [](const std::filesystem::path& scratch) {
                                   if (fixtures::TestMongoUri()) {
                                     fixtures::DropMongoDatabase(MongoTestDatabaseUri(scratch));
                                   }
                                 }}),
                         [](const ::testing::TestParamInfo<StoreBackend>& param_info) {
                           return param_info.param.name;
                         });
#endif

}  // namespace
}  // namespace phytoflow
