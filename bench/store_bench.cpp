// The two store backends side by side: ingest throughput into MongoDB and into SQLite of the same
// exports, and a composition-style query (labels counted per class for every sample, and one
// sample's particle sizes scanned) over a store of 1,000,000 particles with its indexes.
//
//   tests/tools/mongo_test_server.sh build/release/bench/store_bench   # SecantusDB for MongoDB
//   PHYTOFLOW_TEST_MONGO_URI=mongodb://localhost:27017 build/release/bench/store_bench
//
// Without PHYTOFLOW_TEST_MONGO_URI the MongoDB cases report an error and SQLite runs alone. Each
// MongoDB case works in a database of its own (phytoflow_bench_<pid>_...), dropped at the end.
// The query store is filled once per backend by the bench's own writer with synthetic particles
// without images (100 samples x 10,000 particles, one label each from 20 classes); its fill rate
// is reported as fill_particles_per_s.

#include "phytoflow/app/ingest.h"
#include "phytoflow/storage/mongo/mongo_store.h"
#include "phytoflow/storage/sqlite/sqlite_store.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "bench_util.h"
#include "testing/mongo_test_server.h"
#include <benchmark/benchmark.h>
#include <unistd.h>

namespace phytoflow::bench {
namespace {
namespace fs = std::filesystem;

enum class Backend { kSqlite, kMongo };

std::string BackendName(Backend backend) {
  return backend == Backend::kSqlite ? "sqlite" : "mongodb";
}

// A store that exists for the lifetime of the object: a SQLite file in a temp folder, or a
// MongoDB database dropped on destruction.
class ScratchStore {
 public:
  ScratchStore(Backend backend, const std::string& name) {
    if (backend == Backend::kSqlite) {
      store_ = OpenSqliteStore(temp_.Path() / (name + ".db"));
      return;
    }
    const std::optional<std::string> server = fixtures::TestMongoUri();
    if (!server) {
      throw std::runtime_error(fixtures::NoMongoServerMessage());
    }
    mongo_uri_ =
        fixtures::WithDatabase(*server, "phytoflow_bench_" + std::to_string(getpid()) + "_" + name);
    fixtures::DropMongoDatabase(mongo_uri_);  // a killed earlier run may have left it
    store_ = OpenMongoStore(mongo_uri_);
  }
  ~ScratchStore() {
    store_.reset();
    if (!mongo_uri_.empty()) {
      fixtures::DropMongoDatabase(mongo_uri_);
    }
  }
  ScratchStore(const ScratchStore&) = delete;
  ScratchStore& operator=(const ScratchStore&) = delete;

  Store& Get() const { return *store_; }

 private:
  fixtures::TempDir temp_;
  std::string mongo_uri_;
  std::unique_ptr<Store> store_;
};

// Runs `body`, turning a failure (such as a missing server) into a benchmark error.
template <typename Body>
void Guarded(benchmark::State& state, Body body) {
  try {
    body();
  } catch (const std::exception& error) {
    state.SkipWithError(error.what());
  }
}

// ---------------------------------------------------------------------------------------------
// Ingest: the whole pipeline (read, cut, encode PNGs, write) into each backend

void IngestInto(benchmark::State& state, Backend backend, const fs::path& input) {
  Guarded(state, [&] {
    int64_t particles = 0;
    int run = 0;
    for (auto _ : state) {
      state.PauseTiming();
      auto store = std::make_unique<ScratchStore>(backend, "ingest_" + std::to_string(run++));
      state.ResumeTiming();
      for (const IngestReport& report : IngestExport(store->Get(), input, {})) {
        particles += report.sample.particle_count;
      }
      state.PauseTiming();
      store.reset();
      state.ResumeTiming();
    }
    state.counters["particles_per_s"] =
        benchmark::Counter(static_cast<double>(particles), benchmark::Counter::kIsRate);
  });
}

void BM_IngestSynthetic(benchmark::State& state, Backend backend) {
  IngestInto(state, backend, SyntheticExport(state.range(0)));
}

void BM_IngestSharedExport(benchmark::State& state, Backend backend, const char* relative) {
  const fs::path input = fixtures::SharedData() / "flowcam" / relative;
  if (!fs::exists(input)) {
    state.SkipWithError("shared data not found");
    return;
  }
  IngestInto(state, backend, input);
}

// ---------------------------------------------------------------------------------------------
// Composition query over a large store

struct QueryShape {
  int samples = 0;
  int particles_per_sample = 0;
};

QueryShape QueryStoreShape() {
  return SmokeRun() ? QueryShape{.samples = 4, .particles_per_sample = 500}
                    : QueryShape{.samples = 100, .particles_per_sample = 10'000};
}

constexpr int kClasses = 20;
constexpr int kMeasurements = 12;

// Deterministic particles with every size set, as ingest stores them, without images.
void FillSample(Store& store, int sample_index, int particles) {
  Sample sample;
  sample.id = "bench-" + std::to_string(sample_index);
  sample.run_name = sample.id;
  sample.fingerprint = "fp-" + sample.id;
  sample.ingested_at = "2024-01-01T00:00:00Z";
  sample.particle_count = particles;
  sample.volume_imaged_ml = 0.5;
  for (int index = 0; index < kMeasurements; ++index) {
    sample.measurement_names.push_back("Measurement " + std::to_string(index) + " (um)");
  }
  auto writer = store.BeginSample(sample, WriteMode::kCreate);
  constexpr int kBatch = 1000;
  std::vector<Particle> batch;
  std::vector<Label> labels;
  for (int number = 1; number <= particles; ++number) {
    Particle particle;
    particle.number = number;
    particle.guid = sample.id + "-" + std::to_string(number);
    particle.collage_file = sample.id + "_" + std::to_string(number / 100 + 1) + ".tif";
    particle.box = {.x = number % 1000, .y = number % 700, .width = 40, .height = 30};
    particle.timestamp = "2024-01-01T00:00:00";
    particle.esd_um = 5.0 + (number * 7919 % 1000) / 20.0;
    particle.abd_um = particle.esd_um * 0.9;
    particle.biovolume_esd_um3 = SphereVolumeUm3(particle.esd_um);
    particle.biovolume_abd_um3 = SphereVolumeUm3(particle.abd_um);
    for (int index = 0; index < kMeasurements; ++index) {
      particle.measurements.push_back(particle.esd_um * (index + 1));
    }
    batch.push_back(std::move(particle));
    labels.push_back(
        Label{.particle_number = number,
              .name = "class_" + std::to_string((number * 31 + sample_index) % kClasses),
              .source = kLabelSourceVisualSpreadsheet,
              .classification = "bench",
              .author = "store_bench",
              .created_at = "2024-01-01T00:00:00Z"});
    if (batch.size() == kBatch) {
      writer->AddParticles(batch);
      batch.clear();
    }
  }
  writer->AddParticles(batch);
  writer->AddLabels(labels);
  writer->Commit(sample);
}

// The query store of a backend, filled on first use and kept for the other query cases.
struct QueryStore {
  std::unique_ptr<ScratchStore> store;
  double fill_seconds = 0.0;
  int64_t particles = 0;
};

std::map<Backend, QueryStore>& QueryStores() {
  static std::map<Backend, QueryStore> stores;
  return stores;
}

QueryStore& FilledStore(Backend backend) {
  QueryStore& query = QueryStores()[backend];
  if (query.store) {
    return query;
  }
  const QueryShape shape = QueryStoreShape();
  auto store = std::make_unique<ScratchStore>(backend, "query");
  const auto start = std::chrono::steady_clock::now();
  for (int index = 0; index < shape.samples; ++index) {
    FillSample(store->Get(), index, shape.particles_per_sample);
  }
  query.fill_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  query.particles = int64_t{shape.samples} * shape.particles_per_sample;
  query.store = std::move(store);
  return query;
}

// Labels counted per class in every sample: the table a composition report starts from.
void BM_CountLabelsPerSample(benchmark::State& state, Backend backend) {
  Guarded(state, [&] {
    QueryStore& query = FilledStore(backend);
    const Store& store = query.store->Get();
    const std::vector<Sample> samples = store.ListSamples();
    int64_t counted = 0;
    for (auto _ : state) {
      for (const Sample& sample : samples) {
        for (const LabelCount& count : store.CountLabels(sample.id)) {
          counted += count.count;
        }
      }
    }
    if (counted != query.particles * state.iterations()) {
      state.SkipWithError("label counts do not add up to the particles");
    }
    state.counters["store_particles"] = static_cast<double>(query.particles);
    state.counters["samples_per_s"] = benchmark::Counter(
        static_cast<double>(samples.size() * state.iterations()), benchmark::Counter::kIsRate);
    state.counters["fill_particles_per_s"] =
        static_cast<double>(query.particles) / query.fill_seconds;
  });
}

// One sample's particle sizes: what biovolume and size spectra read.
void BM_ScanSizesOfOneSample(benchmark::State& state, Backend backend) {
  Guarded(state, [&] {
    QueryStore& query = FilledStore(backend);
    const Store& store = query.store->Get();
    const std::string sample_id = "bench-" + std::to_string(QueryStoreShape().samples / 2);
    int64_t scanned = 0;
    double biovolume_um3 = 0.0;
    for (auto _ : state) {
      store.ScanParticles(sample_id, {}, [&](const Particle& particle) {
        ++scanned;
        biovolume_um3 += particle.biovolume_esd_um3;
      });
    }
    benchmark::DoNotOptimize(biovolume_um3);
    state.counters["store_particles"] = static_cast<double>(query.particles);
    state.counters["particles_per_s"] =
        benchmark::Counter(static_cast<double>(scanned), benchmark::Counter::kIsRate);
  });
}

void RegisterBenchmarks() {
  for (Backend backend : {Backend::kSqlite, Backend::kMongo}) {
    const std::string name = BackendName(backend);
    benchmark::RegisterBenchmark(
        ("BM_IngestSynthetic/" + name).c_str(), BM_IngestSynthetic, backend)
        ->Arg(SmokeRun() ? 500 : 10'000)
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1)
        ->UseRealTime();
    if (!SmokeRun()) {
      benchmark::RegisterBenchmark(
          ("BM_IngestSharedExport/" + name + "/nercceh_macro_9451").c_str(),
          BM_IngestSharedExport,
          backend,
          "nercceh_macro_2023")
          ->Unit(benchmark::kMillisecond)
          ->Iterations(1)
          ->UseRealTime();
    }
  }
  for (Backend backend : {Backend::kSqlite, Backend::kMongo}) {
    const std::string name = BackendName(backend);
    benchmark::RegisterBenchmark(
        ("BM_CountLabelsPerSample/" + name).c_str(), BM_CountLabelsPerSample, backend)
        ->Unit(benchmark::kMillisecond)
        ->Iterations(SmokeRun() ? 1 : 3)
        ->UseRealTime();
    benchmark::RegisterBenchmark(
        ("BM_ScanSizesOfOneSample/" + name).c_str(), BM_ScanSizesOfOneSample, backend)
        ->Unit(benchmark::kMillisecond)
        ->Iterations(SmokeRun() ? 1 : 5)
        ->UseRealTime();
  }
}

}  // namespace
}  // namespace phytoflow::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  phytoflow::bench::RegisterBenchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  // Closed (and their MongoDB databases dropped) here, not during static destruction, when the
  // driver may already be cleaned up.
  phytoflow::bench::QueryStores().clear();
  return 0;
}
