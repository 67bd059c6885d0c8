#include "testing/synthetic_export.h"

#include "phytoflow/imaging/image.h"
#include "phytoflow/imaging/tiff.h"
#include "phytoflow/reader/classification_reader.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <numbers>
#include <random>
#include <vector>

#include <fmt/core.h>

namespace phytoflow::fixtures {
namespace fs = std::filesystem;
namespace {

// The 65-field layout of VS 4.x (flowcam-formats.md §3.1).
constexpr const char* kHeader[] = {"id|int32",
                                   "image_x|int32",
                                   "image_y|int32",
                                   "image_w|int32",
                                   "image_h|int32",
                                   "src_x|int32",
                                   "src_y|int32",
                                   "src_image|int32",
                                   "cal_image|int32",
                                   "ppc|int32",
                                   "camera|int32",
                                   "cal_const|double",
                                   "fringe_size|double",
                                   "sphere_count|int32",
                                   "raw_sphere_volume|double",
                                   "raw_sphere_complement|double",
                                   "raw_sphere_unknown|double",
                                   "raw_area|double",
                                   "raw_feret_max|double",
                                   "raw_feret_min|double",
                                   "raw_feret_mean|double",
                                   "raw_perimeter|double",
                                   "raw_convex_perimeter|double",
                                   "raw_legendre_major|double",
                                   "raw_legendre_minor|double",
                                   "abd_area|double",
                                   "abd_diameter|double",
                                   "length|double",
                                   "width|double",
                                   "esd_diameter|double",
                                   "fd_diameter|double",
                                   "perimeter|double",
                                   "convex_perimeter|double",
                                   "intensity|double",
                                   "sigma_intensity|double",
                                   "sum_intensity|double",
                                   "compactness|double",
                                   "elongation|double",
                                   "roughness|double",
                                   "edge_gradient|double",
                                   "elapsed_time|double",
                                   "circle_fit|double",
                                   "symmetry|double",
                                   "circularity_hu|double",
                                   "intensity_calimage|double",
                                   "raw_convex_hull_area|double",
                                   "raw_filled_area|double",
                                   "filled_area|double",
                                   "feret_max_angle|double",
                                   "feret_min_angle|double",
                                   "avg_red|double",
                                   "avg_green|double",
                                   "avg_blue|double",
                                   "ch1_peak|double",
                                   "ch1_width|double",
                                   "ch1_area|double",
                                   "ch2_peak|double",
                                   "ch2_width|double",
                                   "ch2_area|double",
                                   "ch3_peak|double",
                                   "ch3_width|double",
                                   "ch3_area|double",
                                   "timestamp|timestamp",
                                   "collage_file|string",
                                   "image_id|guid"};

constexpr double kCalibration = 0.5544;  // µm per pixel, as in the vicko runs

struct Page {
  Image collage;
  Image mask;
  int shelf_x = 0;
  int shelf_y = 0;
  int shelf_height = 0;
};

Page NewPage(const ExportSpec& spec) {
  Page page;
  page.collage = Image{
      .width = spec.page_width,
      .height = spec.page_height,
      .channels = 3,
      .pixels = std::vector<uint8_t>(
          static_cast<size_t>(spec.page_width) * static_cast<size_t>(spec.page_height) * 3, 0)};
  page.mask =
      Image{.width = spec.page_width,
            .height = spec.page_height,
            .channels = 1,
            .pixels = std::vector<uint8_t>(
                static_cast<size_t>(spec.page_width) * static_cast<size_t>(spec.page_height), 0)};
  return page;
}

std::string PageName(const ExportSpec& spec, int page_number, bool mask) {
  return fmt::format("{}_{:06d}{}.tif", spec.run_name, page_number, mask ? "_bin" : "");
}

void WriteBytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

void FlushPage(const fs::path& folder, const ExportSpec& spec, const Page& page, int page_number) {
  WriteBytes(folder / PageName(spec, page_number, false), EncodeTiff(page.collage));
  if (spec.masks) {
    WriteBytes(folder / PageName(spec, page_number, true), EncodeTiff(page.mask));
  }
}

}  // namespace

fs::path WriteSyntheticExport(const fs::path& folder, const ExportSpec& spec) {
  fs::create_directories(folder);
  std::mt19937 random(spec.seed);
  std::uniform_int_distribution<int> side(spec.min_side_px, spec.max_side_px);
  std::uniform_int_distribution<int> byte(0, 255);
  const char* eol = spec.crlf ? "\r\n" : "\n";

  const fs::path list_path = folder / (spec.run_name + ".lst");
  std::ofstream list(list_path, std::ios::binary);
  const size_t field_count = spec.guids ? std::size(kHeader) : std::size(kHeader) - 1;
  list << "017" << eol << "num-fields|" << field_count << eol;
  for (size_t i = 0; i < field_count; ++i) {
    list << kHeader[i] << eol;
  }
  std::ofstream outlines(folder / (spec.run_name + ".edg"), std::ios::binary);

  Page page = NewPage(spec);
  int page_number = 1;
  std::vector<int64_t> odd;
  std::vector<int64_t> even;
  for (int64_t id = 1; id <= spec.particles; ++id) {
    const int width = side(random);
    const int height = side(random);
    if (page.shelf_x + width > spec.page_width) {  // next shelf
      page.shelf_x = 0;
      page.shelf_y += page.shelf_height;
      page.shelf_height = 0;
    }
    if (page.shelf_y + height > spec.page_height) {  // next page
      FlushPage(folder, spec, page, page_number++);
      page = NewPage(spec);
    }
    const int x = page.shelf_x;
    const int y = page.shelf_y;
    page.shelf_x += width;
    page.shelf_height = std::max(page.shelf_height, height);

    // A filled ellipse of a random colour on a light background, 2 px border like VS.
    const uint8_t red = static_cast<uint8_t>(byte(random));
    const uint8_t green = static_cast<uint8_t>(byte(random));
    int64_t area_px = 0;
    for (int row = 0; row < height; ++row) {
      for (int col = 0; col < width; ++col) {
        const size_t at = static_cast<size_t>(y + row) * static_cast<size_t>(spec.page_width) +
                          static_cast<size_t>(x + col);
        const double dx = (col + 0.5 - width / 2.0) / (width / 2.0 - 2.0);
        const double dy = (row + 0.5 - height / 2.0) / (height / 2.0 - 2.0);
        const bool inside = dx * dx + dy * dy <= 1.0;
        page.collage.pixels[at * 3 + 0] = inside ? red : 180;
        page.collage.pixels[at * 3 + 1] = inside ? green : 180;
        page.collage.pixels[at * 3 + 2] = inside ? 90 : 220;
        page.mask.pixels[at] = inside ? 255 : 0;
        area_px += inside ? 1 : 0;
      }
    }
    const double area_um2 = static_cast<double>(area_px) * kCalibration * kCalibration;
    const double abd = 2.0 * std::sqrt(area_um2 / std::numbers::pi);
    const double esd = (width + height) / 2.0 * kCalibration;
    const int src_x = 10 + static_cast<int>(id % 1000);
    const int src_y = 20 + static_cast<int>(id % 700);

    std::vector<std::string> values = {std::to_string(id),
                                       std::to_string(x),
                                       std::to_string(y),
                                       std::to_string(width),
                                       std::to_string(height),
                                       std::to_string(src_x),
                                       std::to_string(src_y),
                                       std::to_string(id * 3),
                                       "1",
                                       "1",
                                       "0",
                                       fmt::format("{:.4f}", kCalibration),
                                       "4.5000",
                                       "0"};
    for (int i = 0; i < 3; ++i) {
      values.push_back("0.0000");
    }
    values.push_back(fmt::format("{:.4f}", static_cast<double>(area_px)));
    for (const double v : {double(std::max(width, height)),
                           double(std::min(width, height)),
                           (width + height) / 2.0,
                           2.0 * (width + height),
                           1.8 * (width + height),
                           double(std::max(width, height)),
                           double(std::min(width, height))}) {
      values.push_back(fmt::format("{:.4f}", v));
    }
    for (const double v : {area_um2,
                           abd,
                           std::max(width, height) * kCalibration,
                           std::min(width, height) * kCalibration,
                           esd,
                           esd * 1.01,
                           2.0 * (width + height) * kCalibration,
                           1.8 * (width + height) * kCalibration}) {
      values.push_back(fmt::format("{:.4f}", v));
    }
    while (values.size() <
           62) {  // intensities, shape factors, colours, channels: plausible constants
      values.push_back(fmt::format("{:.4f}", static_cast<double>(values.size() % 7) + 0.5));
    }
    values.push_back(
        fmt::format("2025-04-11T15:{:02d}:{:02d}.{:03d}", (id / 60) % 60, id % 60, id % 1000));
    values.push_back(PageName(spec, page_number, false));
    if (spec.guids) {
      values.push_back(fmt::format("{:08X}-0000-4000-8000-{:012X}", spec.seed, id));
    }
    for (size_t i = 0; i < values.size(); ++i) {
      list << (i ? "|" : "") << values[i];
    }
    list << eol;
    outlines << id << ",4," << src_x + 2 << "," << src_y + 2 << ",1753" << "\r\n";
    (id % 2 ? odd : even).push_back(id);
  }
  FlushPage(folder, spec, page, page_number);

  std::ofstream context(folder / (spec.run_name + ".ctx"), std::ios::binary);
  context
      << "[Software]\r\nSoftwareName=VisualSpreadsheet\r\nSoftwareVersion=4.19."
         "3\r\nCameraMagnification=10\r\n"
      << "SerialNo=synthetic\r\n[General]\r\nRunStartTime=2025-04-11 13:53:33\r\nTimeZone= \r\n"
      << "[Fluid]\r\nFlowCellType=FC100\r\nFlowCellDepth=100\r\nCalibrationConstant=0.5544\r\n"
      << "UseDilutionCalculation=0\r\nSampleDilution=1\r\n[CaptureStats]\r\nRawImageTotal=1000\r\n";
  if (spec.volume_imaged_ml > 0) {
    std::ofstream summary(folder / (spec.run_name + "_run_summary.txt"), std::ios::binary);
    summary << "Run:\r\n\tMode:  AutoImage\r\n"
            << fmt::format("\tFluid Volume Imaged: {:.4f} ml\r\n", spec.volume_imaged_ml)
            << "\tParticle Count: " << spec.particles
            << "\r\n\r\nDate/Time:\r\n\tStart:  2025-04-11 15:53:33\r\n";
  }
  if (spec.classification) {
    std::ofstream cla(folder / (spec.run_name + ".cla"), std::ios::binary);
    WriteClassifications(
        cla,
        {{.name = "synthetic",
          .classes = {{.name = "odd", .filters = {}, .particle_numbers = odd},
                      {.name = "even", .filters = {}, .particle_numbers = even}}}});
  }
  return list_path;
}

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "phytoflow-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    std::abort();
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code error;
  fs::remove_all(path_, error);
}

fs::path SourceDir() {
  const char* dir = std::getenv("PHYTOFLOW_SOURCE_DIR");
  return dir && *dir ? fs::path(dir) : fs::current_path();
}

fs::path SharedData() {
  return SourceDir() / ".." / "shared" / "data";
}

}  // namespace phytoflow::fixtures
