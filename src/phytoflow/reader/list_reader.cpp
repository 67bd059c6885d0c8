#include "phytoflow/reader/list_reader.h"

#include "phytoflow/core/error.h"

#include <array>
#include <cctype>
#include <utility>

namespace phytoflow {
namespace {

// Lists wider than this are not FlowCam lists (65 fields seen); a cap keeps a corrupt header
// from reserving huge vectors.
constexpr int64_t kMaxListFields = 1000;

[[noreturn]] void FailAt(const std::string& file, int64_t line, const std::string& message) {
  throw Error(ErrorCode::kInvalidInput, file + ":" + std::to_string(line) + ": " + message);
}

// VS 4.x .csv titles with a .lst twin (flowcam-formats.md §3.7).
constexpr std::array<std::pair<std::string_view, std::string_view>, 58> kCsvTitles = {{
    {"Particle ID", "id"},
    {"Image X", "image_x"},
    {"Image Y", "image_y"},
    {"Image Width", "image_w"},
    {"Image Height", "image_h"},
    {"Image File", "collage_file"},
    {"Original Reference ID", "image_id"},
    {"Capture X", "src_x"},
    {"Capture Y", "src_y"},
    {"Source Image", "src_image"},
    {"Calibration Image", "cal_image"},
    {"Particles Per Chain", "ppc"},
    {"Camera", "camera"},
    {"Calibration Factor", "cal_const"},
    {"Sphere Count", "sphere_count"},
    {"Sphere Volume", "raw_sphere_volume"},
    {"Sphere Complement", "raw_sphere_complement"},
    {"Sphere Unknown", "raw_sphere_unknown"},
    {"Area (ABD)", "abd_area"},
    {"Diameter (ABD)", "abd_diameter"},
    {"Length", "length"},
    {"Width", "width"},
    {"Diameter (ESD)", "esd_diameter"},
    {"Diameter (FD)", "fd_diameter"},
    {"Perimeter", "perimeter"},
    {"Convex Perimeter", "convex_perimeter"},
    {"Intensity", "intensity"},
    {"Sigma Intensity", "sigma_intensity"},
    {"Sum Intensity", "sum_intensity"},
    {"Compactness", "compactness"},
    {"Elongation", "elongation"},
    {"Roughness", "roughness"},
    {"Edge Gradient", "edge_gradient"},
    {"Elapsed Time", "elapsed_time"},
    {"Circle Fit", "circle_fit"},
    {"Symmetry", "symmetry"},
    {"Circularity (Hu)", "circularity_hu"},
    {"Area (Filled)", "filled_area"},
    {"Feret Angle Max", "feret_max_angle"},
    {"Feret Angle Min", "feret_min_angle"},
    {"Average Red", "avg_red"},
    {"Average Green", "avg_green"},
    {"Average Blue", "avg_blue"},
    {"Ch1 Peak", "ch1_peak"},
    {"Ch1 Width", "ch1_width"},
    {"Ch1 Area", "ch1_area"},
    {"Ch2 Peak", "ch2_peak"},
    {"Ch2 Width", "ch2_width"},
    {"Ch2 Area", "ch2_area"},
    {"Ch3 Peak", "ch3_peak"},
    {"Ch3 Width", "ch3_width"},
    {"Ch3 Area", "ch3_area"},
    {"Timestamp", "timestamp"},
    {"Aspect Ratio", "aspect_ratio"},
    {"Volume (ABD)", "volume_abd"},
    {"Volume (ESD)", "volume_esd"},
    {"Scatter Peak", "scatter_peak"},
    {"Scatter Width", "scatter_width"},
}};

// CSV columns that repeat what other columns say as text (date and time of day).
bool IsRedundantCsvTitle(std::string_view title) {
  return title == "Date" || title == "Time";
}

}  // namespace

ListReader::ListReader(std::istream& input, std::string file)
    : lines_(input), file_(std::move(file)) {
  std::string line;
  if (!lines_.Next(line)) {
    FailAt(file_, 1, "empty file: expected the list format version (\"017\")");
  }
  version_ = std::string(Trim(line));
  if (!ParseInt(version_)) {
    FailAt(file_, 1, "expected the list format version (\"017\"), found '" + version_ + "'");
  }
  if (!lines_.Next(line)) {
    FailAt(file_, 2, "file ends before the 'num-fields|N' line");
  }
  std::vector<std::string_view> parts;
  SplitInto(line, '|', parts);
  if (parts.size() != 2 || Trim(parts[0]) != "num-fields") {
    FailAt(file_,
           2,
           "expected 'num-fields|N', found '" + line +
               "' (lists older than format 017 are not supported)");
  }
  const auto count = ParseInt(parts[1]);
  if (!count || *count < 1 || *count > kMaxListFields) {
    FailAt(file_,
           2,
           "expected a field count between 1 and 1000, found '" + std::string(parts[1]) + "'");
  }
  std::vector<ListColumn> columns;
  for (int64_t i = 0; i < *count; ++i) {
    if (!lines_.Next(line)) {
      FailAt(file_,
             lines_.LineNumber() + 1,
             "file ends inside the header: expected " + std::to_string(*count) +
                 " field lines, found " + std::to_string(i));
    }
    SplitInto(line, '|', parts);
    const auto type = parts.size() == 2 ? ParseFieldType(parts[1]) : std::nullopt;
    if (!type || Trim(parts[0]).empty()) {
      FailAt(
          file_, lines_.LineNumber(), "expected a 'name|type' header line, found '" + line + "'");
    }
    columns.push_back(ListColumn{.name = std::string(Trim(parts[0])), .type = *type});
  }
  decoder_ = std::make_unique<ParticleDecoder>(std::move(columns), file_);
}

bool ListReader::Next(Particle& particle) {
  while (lines_.Next(line_)) {
    if (Trim(line_).empty()) {
      continue;  // VS ends files with an empty line; blank lines carry nothing
    }
    SplitInto(line_, '|', values_);
    decoder_->Decode(values_, lines_.LineNumber(), particle);
    return true;
  }
  return false;
}

std::string ListNameForCsvTitle(std::string_view title) {
  title = Trim(title);
  for (const auto& [csv, list] : kCsvTitles) {
    if (csv == title) {
      return std::string(list);
    }
  }
  std::string snake;
  for (const char c : title) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      snake += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!snake.empty() && snake.back() != '_') {
      snake += '_';
    }
  }
  while (!snake.empty() && snake.back() == '_') {
    snake.pop_back();
  }
  return snake;
}

CsvListReader::CsvListReader(std::istream& input, std::string file)
    : lines_(input), file_(std::move(file)) {
  std::string header;
  if (!lines_.Next(header)) {
    FailAt(file_, 1, "empty file: expected a header starting with 'Particle ID'");
  }
  if (!header.empty() && header.rfind("\xEF\xBB\xBF", 0) == 0) {
    header.erase(0, 3);  // UTF-8 byte order mark
  }
  std::vector<ListColumn> columns;
  for (const std::string& title : SplitCsvLine(header)) {
    const std::string name = ListNameForCsvTitle(title);
    ListColumn column{.name = name, .type = FieldType::kDouble};
    if (name == "collage_file") {
      column.type = FieldType::kString;
    } else if (name == "image_id") {
      column.type = FieldType::kGuid;
    } else if (name == "timestamp") {
      column.type = FieldType::kTimestamp;
    } else if (IsRedundantCsvTitle(Trim(title))) {
      column.type = FieldType::kString;  // decoded as ignored text
    } else if (name == "camera") {
      column.offset = -1.0;  // the CSV counts cameras from 1, the .lst from 0
    }
    columns.push_back(std::move(column));
  }
  decoder_ = std::make_unique<ParticleDecoder>(std::move(columns), file_);
}

bool CsvListReader::Next(Particle& particle) {
  while (lines_.Next(line_)) {
    if (Trim(line_).empty()) {
      continue;
    }
    const std::vector<std::string> fields = SplitCsvLine(line_);
    std::vector<std::string_view> values(fields.begin(), fields.end());
    decoder_->Decode(values, lines_.LineNumber(), particle);
    return true;
  }
  return false;
}

}  // namespace phytoflow
