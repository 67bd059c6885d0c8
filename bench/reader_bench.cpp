// The parts of ingest on their own: list parsing (rows/s), collage decoding, and cutting plus
// PNG-encoding vignettes.

#include "phytoflow/imaging/png.h"
#include "phytoflow/imaging/tiff.h"
#include "phytoflow/reader/list_reader.h"

#include <fstream>
#include <sstream>

#include "bench_util.h"
#include <benchmark/benchmark.h>

namespace phytoflow::bench {
namespace {
namespace fs = std::filesystem;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void BM_ParseList(benchmark::State& state) {
  const fs::path folder = SyntheticExport(SmokeRun() ? 1'000 : 10'000);
  const std::string text = ReadAll(folder / "synthetic.lst");
  int64_t rows = 0;
  for (auto _ : state) {
    std::istringstream in(text);
    ListReader list(in, "synthetic.lst");
    Particle particle;
    while (list.Next(particle)) {
      ++rows;
    }
  }
  state.counters["rows_per_s"] =
      benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsRate);
}

void BM_DecodeCollage(benchmark::State& state) {
  const std::string bytes = ReadAll(SyntheticExport(1'000) / "synthetic_000001.tif");
  const std::span<const uint8_t> span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  for (auto _ : state) {
    benchmark::DoNotOptimize(DecodeTiff(span, "synthetic_000001.tif"));
  }
  state.counters["pages_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// A real VS 4.0 collage page and its mask (1292x964, LZW), as in the avocados run.
void BM_DecodeRealCollage(benchmark::State& state, const char* file) {
  const fs::path path =
      fixtures::SharedData() / "flowcam/avocados_station40_2017/416_Station40_09012015_10x" / file;
  if (!fs::exists(path)) {
    state.SkipWithError("shared data not found");
    return;
  }
  const std::string bytes = ReadAll(path);
  const std::span<const uint8_t> span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  for (auto _ : state) {
    benchmark::DoNotOptimize(DecodeTiff(span, file));
  }
  state.counters["pages_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_CutAndEncodeVignette(benchmark::State& state) {
  const Image page = ReadTiff(SyntheticExport(1'000) / "synthetic_000001.tif");
  const PixelBox box{.x = 10, .y = 10, .width = 40, .height = 32};
  for (auto _ : state) {
    benchmark::DoNotOptimize(EncodePng(Crop(page, box)));
  }
  state.counters["vignettes_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

BENCHMARK(BM_ParseList)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DecodeCollage)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_DecodeRealCollage, rgb, "416_Station40_09012015_10x_000001.tif")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_DecodeRealCollage, mask, "416_Station40_09012015_10x_000001_bin.tif")
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CutAndEncodeVignette)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace phytoflow::bench

BENCHMARK_MAIN();
