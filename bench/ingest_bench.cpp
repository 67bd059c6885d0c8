// Ingest throughput (particles per second, images and masks included) into a SQLite file,
// and peak memory, on the largest shared exports and on synthetic exports of growing size.
//
//   build/release/bench/ingest_bench                      all cases
//   build/release/bench/ingest_bench --benchmark_filter=Synthetic
//
// Rates are per wall-clock second (ingest uses every core). peak_rss_mib is the process's
// high-water mark after the case; cases run from small to large, so a flat value across the
// synthetic sizes means memory does not grow with the export.

#include "phytoflow/app/ingest.h"
#include "phytoflow/storage/sqlite/sqlite_store.h"

#include <filesystem>

#include "bench_util.h"
#include <benchmark/benchmark.h>

namespace phytoflow::bench {
namespace {
namespace fs = std::filesystem;

void IngestInto(benchmark::State& state, const fs::path& input) {
  fixtures::TempDir temp;
  int64_t particles = 0;
  for (auto _ : state) {
    state.PauseTiming();
    fs::remove(temp.Path() / "bench.db");
    fs::remove(temp.Path() / "bench.db-wal");
    fs::remove(temp.Path() / "bench.db-shm");
    std::unique_ptr<Store> store = OpenSqliteStore(temp.Path() / "bench.db");
    state.ResumeTiming();
    for (const IngestReport& report : IngestExport(*store, input, {})) {
      particles += report.sample.particle_count;
    }
  }
  state.counters["particles_per_s"] =
      benchmark::Counter(static_cast<double>(particles), benchmark::Counter::kIsRate);
  state.counters["peak_rss_mib"] = PeakRssMiB();
}

void BM_IngestSharedExport(benchmark::State& state, const char* relative) {
  const fs::path input = fixtures::SharedData() / "flowcam" / relative;
  if (!fs::exists(input)) {
    state.SkipWithError("shared data not found");
    return;
  }
  IngestInto(state, input);
}

void BM_IngestSynthetic(benchmark::State& state) {
  IngestInto(state, SyntheticExport(state.range(0)));
}

BENCHMARK_CAPTURE(BM_IngestSharedExport, avocados_3122, "avocados_station40_2017")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_IngestSharedExport,
                  nerc_macro_8976,
                  "nercceh_macro_2023/19_10_Tank25_blanksremoved")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->UseRealTime();
BENCHMARK(BM_IngestSynthetic)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->UseRealTime()
    ->Arg(1'000)
    ->Arg(SmokeRun() ? 2'000 : 10'000)
    ->Arg(SmokeRun() ? 3'000 : 100'000);

}  // namespace
}  // namespace phytoflow::bench

BENCHMARK_MAIN();
